/**
 * A placeholder deep in a streamed request body (past the prefix checked before the request goes
 * upstream), headed to a host its secret does not allow: the upstream gets an aborted request and
 * the agent gets a 403 naming the secret, over HTTP/1.1 and over h2, as long as the upstream has
 * not answered yet (an early answer can only be cut, which the other tests cover).
 */
import http2 from 'node:http2';
import tls from 'node:tls';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { baseSettings, Harness, PLACEHOLDER } from './proxy-harness.js';

let h: Harness;
beforeAll(async () => {
  h = await new Harness({ settings: baseSettings() }).start();
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => {
  h.seen = [];
  h.attributed = [];
});

/** 1 MiB of filler with the placeholder at the end, sent in 64 KiB writes. */
function body(): Buffer[] {
  const filler = Buffer.alloc(1024 * 1024, 0x61);
  const chunks: Buffer[] = [];
  for (let i = 0; i < filler.length; i += 64 * 1024) chunks.push(filler.subarray(i, i + 64 * 1024));
  chunks.push(Buffer.from(`&token=${PLACEHOLDER}\n`));
  return chunks;
}

describe('a late placeholder toward a host its secret does not allow', () => {
  it.each([
    ['h2', () => h.h2Port],
    ['HTTP/1.1', () => h.httpsPort],
  ] as const)('over h2 (%s upstream): 403 naming the secret, and the upstream never gets the whole body', async (_kind, port) => {
    h.dest = { address: '127.0.0.1', port: port() };
    const session = http2.connect('https://other.test', {
      createConnection: () => tls.connect({ host: '127.0.0.1', port: h.proxy.port, servername: 'other.test', ca: h.proxyCaPem, ALPNProtocols: ['h2'] }),
    });
    try {
      const r = await new Promise<{ status: number; text: string; rst?: number }>((resolve) => {
        const st = session.request({ ':method': 'POST', ':path': '/upload', ':authority': 'other.test', 'content-type': 'application/octet-stream' });
        let status = 0;
        let text = '';
        st.on('response', (hd) => (status = Number(hd[':status'])));
        st.on('data', (c: Buffer) => (text += c.toString()));
        st.on('close', () => resolve({ status, text, rst: st.rstCode }));
        st.on('error', () => {});
        const chunks = body();
        const pump = () => {
          while (chunks.length) if (!st.write(chunks.shift()!)) return void st.once('drain', pump);
          st.end();
        };
        pump();
      });
      expect(r.status).toBe(403);
      expect(r.text).toContain('TOKEN');
    } finally {
      session.close();
    }
    expect(h.seen.filter((s) => s.complete && s.body.includes(PLACEHOLDER))).toEqual([]);
    const line = h.requestLogs().find((l) => l.path === '/upload');
    expect(line).toMatchObject({ status: 403, leak: 'TOKEN' });
  });

  it('over HTTP/1.1: 403 naming the secret, and the upstream never gets the whole body', async () => {
    h.dest = { address: '127.0.0.1', port: h.httpsPort };
    const r = await h.request({ host: 'other.test', method: 'POST', path: '/upload', body: Buffer.concat(body()), headers: { 'content-type': 'application/octet-stream' } });
    expect(r.status).toBe(403);
    expect(r.body.toString()).toContain('TOKEN');
    expect(h.seen.filter((s) => s.complete && s.body.includes(PLACEHOLDER))).toEqual([]);
  });
});
