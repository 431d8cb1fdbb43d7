/**
 * Request framing hardening (red-team hole 3): what the upstream parses must be
 * exactly the one request the proxy decided on. The agent's bytes are written raw, so node's own
 * client-side framing cannot hide a bug.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { baseSettings, Harness } from './proxy-harness.js';
import { chunked, rawExchange } from './proxy-hardening-upstream.js';

let h: Harness;
beforeAll(async () => {
  h = await new Harness({ settings: baseSettings() }).start();
});
afterAll(async () => {
  await h?.close();
});
beforeEach(async () => {
  h.dest = { address: '127.0.0.1', port: h.httpsPort };
  h.attributed = [];
  h.seen.length = 0;
});

const settle = () => new Promise((r) => setTimeout(r, 300));
const statusOf = (raw: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);
const smuggled = (size: number) => `POST /smuggled HTTP/1.1\r\nHost: evil.test\r\nContent-Length: ${size}\r\n\r\n${'x'.repeat(size)}`;

describe('request smuggling through bodies node would not frame (hole 3)', () => {
  for (const method of ['GET', 'DELETE', 'OPTIONS', 'HEAD']) {
    it(`a chunked ${method} body bigger than the checked prefix reaches the upstream as that body, not as a second request`, async () => {
      const inner = smuggled(70_000); // > 64 KiB: streamed after the gate, no Content-Length known
      const raw = await rawExchange(h, { servername: 'other.test', parts: [`${method} /first HTTP/1.1\r\nHost: other.test\r\nTransfer-Encoding: chunked\r\n\r\n`, chunked(inner)] });
      await settle();
      expect(statusOf(raw)).toBe(200);
      expect(h.seen.map((s) => `${s.method} ${s.url}`)).toEqual([`${method} /first`]);
      expect(h.seen[0]!.headers['transfer-encoding']).toBe('chunked');
      expect(h.seen[0]!.body.toString('latin1')).toBe(inner);
    });
  }

  it('a small chunked GET body with no secrets configured is framed too', async () => {
    await h.setSettings({ network: [{ action: 'allow', host: 'other.test' }] });
    try {
      const inner = smuggled(5);
      const raw = await rawExchange(h, { servername: 'other.test', parts: [`GET /first HTTP/1.1\r\nHost: other.test\r\nTransfer-Encoding: chunked\r\n\r\n`, chunked(inner)] });
      await settle();
      expect(statusOf(raw)).toBe(200);
      expect(h.seen.map((s) => `${s.method} ${s.url}`)).toEqual(['GET /first']);
      expect(h.seen[0]!.body.toString('latin1')).toBe(inner);
    } finally {
      await h.setSettings(baseSettings());
    }
  });

  const noSecrets = { network: [{ action: 'allow', host: 'other.test' }] };
  for (const [label, settings] of [['with secrets', baseSettings()], ['without secrets', noSecrets]] as const) {
    for (const token of ['content-length', 'Transfer-Encoding', 'host']) {
      it(`"Connection: ${token}" cannot strip framing or the Host from the forwarded request (${label})`, async () => {
        await h.setSettings(settings);
        try {
          const inner = smuggled(5);
          const raw = await rawExchange(h, { servername: 'other.test', parts: [`GET /first HTTP/1.1\r\nHost: other.test\r\nConnection: ${token}, close\r\nContent-Length: ${inner.length}\r\n\r\n${inner}`] });
          await settle();
          expect(statusOf(raw)).toBe(200);
          expect(h.seen.map((s) => `${s.method} ${s.url}`)).toEqual(['GET /first']);
          expect(h.seen[0]!.headers.host).toBe('other.test');
          expect(h.seen[0]!.body.toString('latin1')).toBe(inner);
        } finally {
          await h.setSettings(baseSettings());
        }
      });
    }
  }

  it('a request with both Transfer-Encoding and Content-Length is refused, nothing upstream', async () => {
    const inner = smuggled(5);
    const raw = await rawExchange(h, { servername: 'other.test', parts: [`GET /first HTTP/1.1\r\nHost: other.test\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n`, chunked(inner)] });
    await settle();
    expect(statusOf(raw)).toBe(400);
    expect(h.seen).toEqual([]);
  });
});

