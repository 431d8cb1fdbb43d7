/**
 * Reflection (red-team hole 6): an upstream that knows a real value (it received it substituted)
 * must not be able to hand it to the agent through h2 trailers (grpc-message too), HTTP/1
 * trailers, the HTTP/1 reason phrase, or WebSocket frames in any shape (text, binary, fragmented,
 * split across reads, large, compressed if the client offers permessage-deflate, control frames,
 * bytes sent together with the 101), over HTTP/1.1 upgrades and h2 extended CONNECT.
 */
import type http from 'node:http';
import http2 from 'node:http2';
import tls from 'node:tls';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import WebSocket, { type WebSocket as WsSocket } from 'ws';
import { SecretVault } from '../../src/secrets/index.js';
import { encodeFrame, WebSocketServerScrub } from '../../src/proxy/http/websocket-scrub.js';
import { baseSettings, Harness, PLACEHOLDER, SECRET_VALUE } from './proxy-harness.js';
import { rawExchange, startEvilUpstream, type EvilUpstream } from './proxy-hardening-upstream.js';

let h: Harness;
let evil: EvilUpstream;
const valueOf = (auth: unknown) => String(auth ?? '').replace(/^Bearer /, '');

function evilHandler(req: http2.Http2ServerRequest, res: http2.Http2ServerResponse): void {
  const v = valueOf(req.headers.authorization);
  req.resume();
  req.on('end', () => {
    if (req.url.startsWith('/trailer')) {
      res.writeHead(200, { 'content-type': 'text/plain', ...(req.httpVersion === '2.0' ? {} : { trailer: 'x-echo, grpc-message' }) });
      res.write('body\n');
      res.addTrailers({ 'x-echo': v, 'grpc-message': `invalid token ${v}` });
      res.end();
    } else if (req.url.startsWith('/reason')) {
      res.statusMessage = `OK ${v}`;
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('body\n');
    } else {
      res.writeHead(404);
      res.end();
    }
  });
}

/** What the evil WebSocket server sends once the connection opens: every message shape. */
function evilWebSocket(ws: WsSocket, req: http.IncomingMessage): void {
  const v = valueOf(req.headers.authorization);
  ws.send(`hello ${v}`);
  ws.send(Buffer.from(`binary ${v}`), { binary: true });
  const half = Math.floor(v.length / 2);
  ws.send(`fragmented ${v.slice(0, half)}`, { fin: false });
  ws.ping(`ping ${v}`);
  ws.send(`${v.slice(half)} end`, { fin: true });
  ws.send(`${'a'.repeat(100_000)}${v}${'b'.repeat(100_000)}`);
  ws.send('last');
}

beforeAll(async () => {
  h = await new Harness({ settings: baseSettings() }).start();
  evil = await startEvilUpstream(h, evilHandler, evilWebSocket, { perMessageDeflate: true });
});
afterAll(async () => {
  await evil?.close();
  await h?.close();
});
beforeEach(() => {
  h.dest = { address: '127.0.0.1', port: evil.port };
  h.attributed = [];
});

function h2Session(servername: string): http2.ClientHttp2Session {
  return http2.connect(`https://${servername}`, { createConnection: () => tls.connect({ host: '127.0.0.1', port: h.proxy.port, servername, ca: h.proxyCaPem, ALPNProtocols: ['h2'] }) });
}

describe('trailers and reason phrase', () => {
  it('h2 response trailers (grpc-message too) are scrubbed', async () => {
    const session = h2Session('api.test');
    try {
      const r = await new Promise<{ body: string; trailers: http2.IncomingHttpHeaders }>((resolve, reject) => {
        const st = session.request({ ':path': '/trailer', ':authority': 'api.test', authorization: `Bearer ${PLACEHOLDER}`, te: 'trailers' });
        let body = '';
        let trailers: http2.IncomingHttpHeaders = {};
        st.on('trailers', (t) => (trailers = t));
        st.on('data', (d) => (body += d));
        st.on('end', () => resolve({ body, trailers }));
        st.on('error', reject);
        st.end();
      });
      expect(r.body).toBe('body\n');
      expect(r.trailers['x-echo']).toBe(PLACEHOLDER);
      expect(r.trailers['grpc-message']).toBe(`invalid token ${PLACEHOLDER}`);
    } finally {
      session.close();
    }
  });

  it('HTTP/1 trailers and the reason phrase never carry the value', async () => {
    for (const path of ['/trailer', '/reason']) {
      const raw = await rawExchange(h, { servername: 'api.test', parts: [`GET ${path} HTTP/1.1\r\nHost: api.test\r\nAuthorization: Bearer ${PLACEHOLDER}\r\nTE: trailers\r\nConnection: close\r\n\r\n`] });
      expect(raw, path).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(raw, path).toContain('body\n');
      expect(raw, path).not.toContain(SECRET_VALUE);
    }
  });
});

describe('WebSocket server frames', () => {
  async function messages(socket: WebSocket): Promise<{ texts: string[]; pings: string[] }> {
    const texts: string[] = [];
    const pings: string[] = [];
    socket.on('ping', (d) => pings.push(d.toString()));
    await new Promise<void>((resolve, reject) => {
      socket.on('message', (m) => {
        texts.push(m.toString());
        if (m.toString() === 'last') resolve();
      });
      socket.on('error', reject);
      socket.on('close', () => resolve());
    });
    socket.close();
    return { texts, pings };
  }

  it('over an HTTP/1.1 upgrade every message shape arrives with the placeholder, permessage-deflate offered or not', async () => {
    for (const perMessageDeflate of [true, false]) {
      const socket = new WebSocket('wss://api.test/ws', {
        perMessageDeflate,
        createConnection: () => tls.connect({ host: '127.0.0.1', port: h.proxy.port, servername: 'api.test', ca: h.proxyCaPem }),
        headers: { authorization: `Bearer ${PLACEHOLDER}` },
      } as WebSocket.ClientOptions);
      const { texts, pings } = await messages(socket);
      expect(socket.extensions).toBe('');
      expect(texts.slice(0, 3)).toEqual([`hello ${PLACEHOLDER}`, `binary ${PLACEHOLDER}`, `fragmented ${PLACEHOLDER} end`]);
      expect(texts[3]).toBe(`${'a'.repeat(100_000)}${PLACEHOLDER}${'b'.repeat(100_000)}`);
      expect(texts[4]).toBe('last');
      expect(pings).toEqual([`ping ${PLACEHOLDER}`]);
    }
  });

  it('over h2 extended CONNECT the frames are scrubbed too, including bytes sent with the 101', async () => {
    const session = h2Session('api.test');
    try {
      const received = await new Promise<string>((resolve, reject) => {
        const st = session.request({ ':method': 'CONNECT', ':protocol': 'websocket', ':path': '/ws', ':authority': 'api.test', ':scheme': 'https', 'sec-websocket-version': '13', 'sec-websocket-extensions': 'permessage-deflate', authorization: `Bearer ${PLACEHOLDER}` });
        let data = Buffer.alloc(0);
        st.on('data', (d: Buffer) => {
          data = Buffer.concat([data, d]);
          if (data.includes('last')) resolve(data.toString('latin1'));
        });
        st.on('error', reject);
        st.on('close', () => resolve(data.toString('latin1')));
        setTimeout(() => resolve(data.toString('latin1')), 5000).unref();
      });
      expect(received).toContain(`hello ${PLACEHOLDER}`);
      expect(received).toContain(PLACEHOLDER);
      expect(received).not.toContain(SECRET_VALUE);
      expect(received).toContain('last');
    } finally {
      session.destroy();
    }
  });
});

describe('WebSocketServerScrub (frame logic)', () => {
  const VALUE = 'v4lue-XYZ-0123456789';
  const vault = new SecretVault([{ name: 'TOKEN', value: VALUE, hosts: ['api.test'], placeholder: PLACEHOLDER }]);

  /** Reassemble messages (and control payloads) from a server byte stream. */
  function decode(bytes: Buffer): string[] {
    const out: string[] = [];
    let msg: Buffer[] | null = null;
    let i = 0;
    while (i < bytes.length) {
      const fin = (bytes[i]! & 0x80) !== 0;
      const op = bytes[i]! & 0x0f;
      expect(bytes[i]! & 0x70).toBe(0);
      expect(bytes[i + 1]! & 0x80).toBe(0);
      let len = bytes[i + 1]! & 0x7f;
      let at = i + 2;
      if (len === 126) (len = bytes.readUInt16BE(at)), (at += 2);
      else if (len === 127) (len = Number(bytes.readBigUInt64BE(at))), (at += 8);
      const payload = bytes.subarray(at, at + len);
      i = at + len;
      if (op >= 8) {
        out.push(`control${op}:${payload.toString('latin1')}`);
        continue;
      }
      if (op !== 0) {
        expect(msg).toBeNull();
        msg = [Buffer.from(`${op}:`)];
      } else expect(msg).not.toBeNull();
      msg!.push(payload);
      if (fin) {
        out.push(Buffer.concat(msg!).toString('latin1'));
        msg = null;
      }
    }
    expect(i).toBe(bytes.length);
    return out;
  }

  function feed(input: Buffer, rnd: () => number): Promise<Buffer> {
    const t = new WebSocketServerScrub(vault);
    const chunks: Buffer[] = [];
    t.on('data', (c: Buffer) => chunks.push(c));
    return new Promise((resolve, reject) => {
      t.on('end', () => resolve(Buffer.concat(chunks)));
      t.on('error', reject);
      let i = 0;
      while (i < input.length) {
        const n = 1 + Math.floor(rnd() * (input.length > 10_000 ? 3000 : 40));
        t.write(input.subarray(i, i + n));
        i += n;
      }
      t.end();
    });
  }

  it('re-frames messages of every shape, split at random points, with every value replaced', async () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000);
    for (let round = 0; round < 120; round++) {
      const frames: Buffer[] = [];
      const expected: string[] = [];
      for (let m = 0; m < 4; m++) {
        const text = `m${m}-${'x'.repeat(Math.floor(rnd() * 300))}${rnd() < 0.7 ? VALUE : ''}-${'y'.repeat(Math.floor(rnd() * (round % 10 === 0 ? 70_000 : 50)))}${VALUE}`;
        const op = rnd() < 0.5 ? 1 : 2;
        const pieces = 1 + Math.floor(rnd() * 4);
        const buf = Buffer.from(text, 'latin1');
        let at = 0;
        for (let p = 0; p < pieces; p++) {
          const end = p === pieces - 1 ? buf.length : Math.min(buf.length, at + Math.floor(rnd() * buf.length));
          frames.push(encodeFrame(p === pieces - 1, p === 0 ? op : 0, buf.subarray(at, end)));
          at = end;
          if (p === 0 && pieces > 1) {
            frames.push(encodeFrame(true, 0x9, Buffer.from(`p ${VALUE}`)));
            expected.push(`control9:p ${PLACEHOLDER}`);
          }
        }
        expected.push(`${op}:${text.split(VALUE).join(PLACEHOLDER)}`);
      }
      frames.push(encodeFrame(true, 0x8, Buffer.concat([Buffer.from([0x03, 0xe8]), Buffer.from(`bye ${VALUE}`)])));
      expected.push(`control8:\x03\xe8bye ${PLACEHOLDER}`);
      const out = await feed(Buffer.concat(frames), rnd);
      expect(out.includes(VALUE)).toBe(false);
      expect(decode(out)).toEqual(expected);
    }
  });

  it('a close reason that no longer fits keeps only the status code', async () => {
    const reason = Buffer.from(`${VALUE}${'r'.repeat(100)}`);
    const out = await feed(encodeFrame(true, 0x8, Buffer.concat([Buffer.from([0x03, 0xe8]), reason])), () => 0.5);
    expect(decode(out)).toEqual(['control8:\x03\xe8']);
  });

  it.each([
    ['a masked frame', Buffer.from([0x81, 0x81, 1, 2, 3, 4, 0x61])],
    ['reserved bits (a compressed frame)', Buffer.from([0xc1, 0x01, 0x61])],
    ['a reserved opcode', Buffer.from([0x83, 0x00])],
    ['a continuation outside a message', Buffer.from([0x80, 0x01, 0x61])],
    ['a fragmented control frame', Buffer.from([0x09, 0x00])],
  ])('refuses %s (the relay then closes)', async (_name, bytes) => {
    await expect(feed(bytes, () => 0.9)).rejects.toThrow(/WebSocket/);
  });
});
