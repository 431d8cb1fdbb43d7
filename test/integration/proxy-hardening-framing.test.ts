/**
 * Request framing and Host hardening (red-team holes 3 and 4): what the upstream parses must be
 * exactly the one request the proxy decided on. The agent's bytes are written raw, so node's own
 * client-side framing cannot hide a bug.
 */
import http2 from 'node:http2';
import tls from 'node:tls';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { baseSettings, Harness, http1Status } from './proxy-harness.js';
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
const smuggled = (size: number) => `POST /smuggled HTTP/1.1\r\nHost: evil.test\r\nContent-Length: ${size}\r\n\r\n${'x'.repeat(size)}`;

describe('request smuggling through bodies node would not frame (hole 3)', () => {
  for (const method of ['GET', 'DELETE', 'OPTIONS', 'HEAD']) {
    it(`a chunked ${method} body bigger than the checked prefix reaches the upstream as that body, not as a second request`, async () => {
      const inner = smuggled(70_000); // > 64 KiB: streamed after the gate, no Content-Length known
      const raw = await rawExchange(h, { servername: 'other.test', parts: [`${method} /first HTTP/1.1\r\nHost: other.test\r\nTransfer-Encoding: chunked\r\n\r\n`, chunked(inner)] });
      await settle();
      expect(http1Status(raw)).toBe(200);
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
      expect(http1Status(raw)).toBe(200);
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
          expect(http1Status(raw)).toBe(200);
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
    expect(http1Status(raw)).toBe(400);
    expect(h.seen).toEqual([]);
  });
});

describe('Host header (hole 4)', () => {
  it('two Host headers get 400 and nothing goes upstream', async () => {
    for (const second of ['evil.test', 'other.test']) {
      const raw = await rawExchange(h, { servername: 'other.test', parts: [`GET /x HTTP/1.1\r\nHost: other.test\r\nHost: ${second}\r\nConnection: close\r\n\r\n`] });
      expect(http1Status(raw), second).toBe(400);
      expect(raw).toContain('Host');
    }
    await settle();
    expect(h.seen).toEqual([]);
  });

  it('two Host headers on an upgrade request get 400 too', async () => {
    const raw = await rawExchange(h, {
      servername: 'api.test',
      parts: ['GET /ws HTTP/1.1\r\nHost: api.test\r\nHost: evil.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'],
    });
    expect(http1Status(raw)).toBe(400);
    await settle();
    expect(h.seen).toEqual([]);
  });

  it('forwards the Host it decided on: lower case, without trailing dots, port kept', async () => {
    const raw = await rawExchange(h, { servername: 'other.test', parts: [`GET /x HTTP/1.1\r\nHost: OTHER.Test..:${h.httpsPort}\r\nConnection: close\r\n\r\n`] });
    expect(http1Status(raw)).toBe(200);
    expect(h.seen[0]!.headers.host).toBe(`other.test:${h.httpsPort}`);
  });
});

describe('HTTP/2 :authority (hole 4)', () => {
  function h2(servername: string, headers: http2.OutgoingHttpHeaders): Promise<{ status: number; body: string }> {
    const session = http2.connect(`https://${servername}`, { createConnection: () => tls.connect({ host: '127.0.0.1', port: h.proxy.port, servername, ca: h.proxyCaPem, ALPNProtocols: ['h2'] }) });
    return new Promise<{ status: number; body: string }>((resolve, reject) => {
      const st = session.request(headers);
      let status = 0;
      let body = '';
      st.on('response', (hd) => (status = Number(hd[':status'])));
      st.on('data', (d) => (body += d));
      st.on('end', () => resolve({ status, body }));
      st.on('error', reject);
      st.end();
    }).finally(() => session.close());
  }

  it('a host header naming another host than :authority gets 400, nothing upstream', async () => {
    const r = await h2('other.test', { ':path': '/x', ':authority': 'other.test', host: 'evil.test' });
    expect(r.status).toBe(400);
    await settle();
    expect(h.seen).toEqual([]);
  });

  for (const [label, port] of [['HTTP/2', () => h.h2Port], ['HTTP/1.1', () => h.httpsPort]] as const) {
    it(`forwards the normalized authority to an ${label} upstream`, async () => {
      h.dest = { address: '127.0.0.1', port: port() };
      const r = await h2('other.test', { ':path': '/x', ':authority': `Other.TEST.:${port()}` });
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body).headers.host ?? JSON.parse(r.body).headers[':authority']).toBe(`other.test:${port()}`);
    });
  }
});

describe('Upgrade: h2c', () => {
  it('goes upstream as a plain request: an h2c connection would carry requests the proxy never decides on', async () => {
    h.dest = { address: '127.0.0.1', port: h.httpPort };
    const r = await h.plainRequest({ host: 'plain.test', path: '/h2c', headers: { connection: 'Upgrade, HTTP2-Settings', upgrade: 'h2c', 'http2-settings': 'AAMAAABkAARAAAAAAAIAAAAA' } });
    expect(r.status).toBe(200);
    expect(h.seen).toHaveLength(1);
    expect(h.seen[0]!.url).toBe('/h2c');
    expect(h.seen[0]!.headers.upgrade).toBeUndefined();
    expect(h.seen[0]!.headers['http2-settings']).toBeUndefined();
  });
});
