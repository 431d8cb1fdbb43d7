import net from 'node:net';
import tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { parseClientHello } from '../../src/proxy/tls/client-hello.js';
import { classify } from '../../src/proxy/sniff.js';

/** The first flight a real node TLS client sends, captured on a loopback socket. */
async function capture(options: tls.ConnectionOptions): Promise<Buffer> {
  return new Promise((resolve) => {
    const server = net.createServer((s) => {
      s.once('data', (d) => {
        resolve(d);
        s.destroy();
        server.close();
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const c = tls.connect({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port, rejectUnauthorized: false, ...options });
      c.on('error', () => {});
    });
  });
}

/** Re-frame a single-record ClientHello into records of at most `size` payload bytes. */
function fragment(hello: Buffer, size: number): Buffer {
  const payload = hello.subarray(5);
  const out: Buffer[] = [];
  for (let i = 0; i < payload.length; i += size) {
    const part = payload.subarray(i, i + size);
    const head = Buffer.from([0x16, 0x03, 0x01, 0, 0]);
    head.writeUInt16BE(part.length, 3);
    out.push(head, part);
  }
  return Buffer.concat(out);
}

describe('parseClientHello', () => {
  it('reads SNI (lower-cased) and ALPN from a real ClientHello', async () => {
    const hello = await capture({ servername: 'API.Example.COM', ALPNProtocols: ['h2', 'http/1.1'] });
    const r = parseClientHello(hello);
    expect(r).toEqual({ kind: 'ok', hello: { sni: 'api.example.com', alpn: ['h2', 'http/1.1'], version: 0x0303 } });
  });

  it('reports no SNI when the client sends none', async () => {
    const hello = await capture({ servername: '' });
    const r = parseClientHello(hello);
    expect(r.kind).toBe('ok');
    if (r.kind === 'ok') expect(r.hello.sni).toBeUndefined();
  });

  it('asks for more bytes at every truncation point, then parses', async () => {
    const hello = await capture({ servername: 'split.test' });
    for (const cut of [1, 4, 5, 20, 60, hello.length - 1]) expect(parseClientHello(hello.subarray(0, cut)).kind).toBe('incomplete');
    expect(parseClientHello(hello).kind).toBe('ok');
  });

  it('joins a handshake message fragmented over several records', async () => {
    const hello = await capture({ servername: 'frag.test', ALPNProtocols: ['http/1.1'] });
    const r = parseClientHello(fragment(hello, 40));
    expect(r).toMatchObject({ kind: 'ok', hello: { sni: 'frag.test', alpn: ['http/1.1'] } });
  });

  it('rejects garbage and non-TLS bytes', () => {
    expect(parseClientHello(Buffer.from('GET / HTTP/1.1\r\n')).kind).toBe('not-tls');
    expect(parseClientHello(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 0x02, 0, 0, 1, 0])).kind).toBe('malformed');
    // A ClientHello whose extension lengths run past the end.
    const bad = Buffer.from([0x16, 0x03, 0x01, 0x00, 0x2e, 0x01, 0x00, 0x00, 0x2a, 0x03, 0x03, ...Buffer.alloc(32), 0x00, 0x00, 0x02, 0x13, 0x01, 0x01, 0x00, 0xff, 0xff]);
    expect(parseClientHello(bad)).toMatchObject({ kind: 'malformed' });
  });
});

describe('classify (first bytes of a connection)', () => {
  it.each([
    ['HTTP request line', 'GET / HTTP/1.1\r\n', 'http'],
    ['WebDAV method', 'PROPFIND /x HTTP/1.1\r\n', 'http'],
    ['SMTP greeting from a client', 'EHLO example\r\n', 'tcp'],
    ['SSH banner', 'SSH-2.0-OpenSSH_9.2\r\n', 'tcp'],
    ['binary', '\x00\x00\x00\x08\x04\xd2\x16\x2f', 'tcp'],
    ['h2c prior knowledge', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'h2c'],
  ])('%s → %s', (_name, text, kind) => {
    const v = classify(Buffer.from(text, 'latin1'));
    expect(v === 'more' ? 'more' : v.kind).toBe(kind);
  });

  it('waits for more bytes while a method name may still be arriving', () => {
    expect(classify(Buffer.from('GE'))).toBe('more');
    expect(classify(Buffer.from('PRI * HT'))).toBe('more');
  });
});
