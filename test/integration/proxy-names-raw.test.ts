/**
 * Raw TCP must never carry an undecided TLS or HTTP request (red-team hole 2): a client silent
 * past the sniff timeout that then starts TLS or HTTP is intercepted and decided like any other;
 * a leading CRLF, an unlisted or lower-case method, or a method split across a pause is still
 * HTTP; once the upstream has spoken, TLS/HTTP from the client resets the connection; and a
 * method-limited rule never opens an opaque byte pipe (raw TCP, TLS pass-through).
 * Real proxy (sniff timeout 300 ms), real sockets and TLS, real upstreams.
 */
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Harness, http1Status, rawTcp } from './proxy-harness.js';

const SETTINGS = {
  network: [
    { action: 'allow', host: 'api.test' },
    { action: 'allow', host: 'get.test', method: 'GET' },
    { action: 'allow', host: 'ssh.test' },
    { action: 'allow', host: 'pinned-get.test', method: 'GET', intercept: false },
  ],
};
const SILENCE_MS = 600; // twice the harness's sniff timeout

let h: Harness;
beforeAll(async () => {
  h = await new Harness({ settings: SETTINGS }).start();
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => {
  h.attributed = [];
  h.seen.length = 0;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Connect to the proxy, run `steps` (strings are written, numbers are pauses), read until close. */
const raw = (steps: (string | number)[], readMs = 1500) => rawTcp(h.proxy.port, steps, { readMs });

describe('late TLS after silence', () => {
  it('is intercepted with the sandcat CA and decided: denied SNI/Host get 403, nothing upstream', async () => {
    h.dest = { address: '127.0.0.1', port: h.httpsPort };
    h.attributed = ['api.test'];
    const outcome = await new Promise<{ issuer: string; text: string }>((resolve, reject) => {
      const sock = net.connect(h.proxy.port, '127.0.0.1', async () => {
        await sleep(SILENCE_MS);
        const t = tls.connect({ socket: sock, servername: 'evil.test', rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] });
        t.once('secureConnect', () => {
          const issuer = t.getPeerCertificate().issuer?.CN ?? '';
          t.write('POST /x HTTP/1.1\r\nHost: evil.test\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi');
          const chunks: Buffer[] = [];
          t.on('data', (c) => chunks.push(c));
          t.on('close', () => resolve({ issuer, text: Buffer.concat(chunks).toString('latin1') }));
        });
        t.on('error', reject);
      });
      sock.on('error', reject);
    });
    expect(outcome.issuer).toMatch(/sandcat/i); // the proxy terminated it, so it could decide
    expect(http1Status(outcome.text)).toBe(403);
    expect(outcome.text).toContain('evil.test');
    expect(h.seen).toHaveLength(0);
  });

  it('an allowed name after silence is intercepted and forwarded', async () => {
    h.dest = { address: '127.0.0.1', port: h.httpsPort };
    h.attributed = ['api.test'];
    const text = await new Promise<string>((resolve, reject) => {
      const sock = net.connect(h.proxy.port, '127.0.0.1', async () => {
        await sleep(SILENCE_MS);
        const t = tls.connect({ socket: sock, servername: 'api.test', ca: h.proxyCaPem, ALPNProtocols: ['http/1.1'] });
        t.once('secureConnect', () => t.write('GET /late HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n'));
        const chunks: Buffer[] = [];
        t.on('data', (c) => chunks.push(c));
        t.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
        t.on('error', reject);
      });
      sock.on('error', reject);
    });
    expect(http1Status(text)).toBe(200);
    expect(h.seen.map((s) => s.url)).toEqual(['/late']);
  });
});

describe('HTTP that must not pass as raw TCP', () => {
  beforeEach(() => {
    h.dest = { address: '127.0.0.1', port: h.httpPort };
    h.attributed = ['get.test'];
  });

  it.each([
    ['leading CRLF, denied Host', ['\r\nPOST /x HTTP/1.1\r\nHost: evil.test\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi']],
    ['leading LFs, POST under a GET-only rule', ['\n\n\r\nPOST /x HTTP/1.1\r\nHost: get.test\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi']],
    ['silence, then POST', [SILENCE_MS, 'POST /x HTTP/1.1\r\nHost: get.test\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi']],
    ['a method split across a pause longer than the sniff timeout', ['PO', SILENCE_MS, 'ST /x HTTP/1.1\r\nHost: get.test\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi']],
    ['an unlisted method', ['BREW /x HTTP/1.1\r\nHost: evil.test\r\nConnection: close\r\n\r\n']],
    ['a lower-case method', ['post /x HTTP/1.1\r\nHost: get.test\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi']],
  ] as [string, (string | number)[]][])('%s: 400/403 from the proxy, nothing upstream', async (_name, steps) => {
    const relayed = () => h.logs.filter((l) => l.proto === 'tcp' && l.msg === 'connection closed').length;
    const before = relayed();
    const r = await raw(steps);
    expect([400, 403]).toContain(http1Status(r.text));
    expect(h.seen).toHaveLength(0);
    await sleep(50);
    expect(relayed()).toBe(before); // never relayed as raw TCP (a lenient upstream would have served it)
  });

  it('a GET with a leading CRLF, or after silence, still works', async () => {
    expect(http1Status((await raw(['\r\nGET /crlf HTTP/1.1\r\nHost: get.test\r\nConnection: close\r\n\r\n'])).text)).toBe(200);
    expect(http1Status((await raw([SILENCE_MS, 'GET /late HTTP/1.1\r\nHost: get.test\r\nConnection: close\r\n\r\n'])).text)).toBe(200);
    expect(h.seen.map((s) => s.url)).toEqual(['/crlf', '/late']);
  });
});

describe('server-first raw TCP', () => {
  beforeEach(() => {
    h.dest = { address: '127.0.0.1', port: h.bannerPort };
    h.attributed = ['ssh.test'];
  });

  it('still works: banner first, then the client talks', async () => {
    const r = await raw([SILENCE_MS, 'SSH-2.0-client\r\n'], 500);
    expect(r.text).toContain('SSH-2.0-h3test');
    expect(r.text).toContain('got:SSH-2.0-client');
  });

  it('HTTP from the client after the upstream spoke is reset, never relayed', async () => {
    const r = await raw([SILENCE_MS, 'GET / HTTP/1.1\r\nHost: evil.test\r\n\r\n'], 500);
    expect(r.text).toContain('SSH-2.0-h3test');
    expect(r.text).not.toContain('got:');
    expect(r.error).toBe('ECONNRESET');
  });
});

describe('opaque connections under method-limited rules', () => {
  it('a GET-only rule does not open a raw TCP pipe', async () => {
    h.dest = { address: '127.0.0.1', port: h.bannerPort };
    h.attributed = ['get.test'];
    const r = await raw([SILENCE_MS, 'hello\r\n'], 300);
    expect(r.text).toBe('');
    expect(h.logs.some((l) => l.msg === 'raw TCP connection denied; reset' && (l.names as string[])?.includes('get.test'))).toBe(true);
  });

  it('a GET-only intercept:false rule does not open a TLS pass-through', async () => {
    h.dest = { address: '127.0.0.1', port: h.httpsPort };
    const outcome = await new Promise<string>((resolve) => {
      const t = tls.connect({ host: '127.0.0.1', port: h.proxy.port, servername: 'pinned-get.test', rejectUnauthorized: false });
      t.once('secureConnect', () => {
        t.destroy();
        resolve('handshake');
      });
      t.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    });
    expect(outcome).not.toBe('handshake');
    expect(h.logs.some((l) => l.msg === 'TLS pass-through denied; reset' && l.sni === 'pinned-get.test')).toBe(true);
  });
});
