/**
 * Names the proxy decides on (red-team hole 1): a Host, :authority or SNI carrying text outside a
 * strict host charset (an IPv6 zone ID `::1%x.cdn.test`, `%`, numeric IPv4 spellings) is refused
 * before any decision, and an IP literal is matched only by rules naming that IP, never by `*` or
 * a name glob. Real proxy, real sockets and TLS; the upstream counts what reached it.
 */
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Harness } from './proxy-harness.js';

const SETTINGS = {
  network: [
    { action: 'allow', host: '*.cdn.test' },
    { action: 'allow', host: '*', method: 'GET' },
  ],
};

let h: Harness;
beforeAll(async () => {
  h = await new Harness({ settings: SETTINGS }).start();
});
afterAll(async () => {
  await h?.close();
});
beforeEach(async () => {
  await h.setSettings(SETTINGS);
  h.attributed = [];
  h.seen.length = 0;
});

/** One raw plain-HTTP exchange; resolves with the status (0 when none). */
function rawHttp(host: string): Promise<{ status: number; text: string }> {
  h.dest = { address: '127.0.0.1', port: h.httpPort };
  return new Promise((resolve, reject) => {
    const s = net.connect(h.proxy.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    s.on('data', (c) => chunks.push(c));
    s.on('error', reject);
    s.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      resolve({ status: m ? Number(m[1]) : 0, text });
    });
    s.write(`GET /x HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
  });
}

describe('Host / :authority / SNI charset', () => {
  it.each([
    '[::1%x.cdn.test]',
    '[::ffff:127.0.0.1%x.cdn.test]',
    '::1%x.cdn.test',
    '[::1%25x.cdn.test]',
    '[fe80::1%eth0]',
    'a%b.cdn.test',
    'a.cdn.test%00',
    '127.1',
    '0x7f.0.0.1',
    '2130706433',
    'x..cdn.test',
    '.cdn.test',
  ])('Host %j is 400 and nothing goes upstream', async (host) => {
    const r = await rawHttp(host);
    expect(r.status).toBe(400);
    expect(h.seen).toHaveLength(0);
  });

  it('a zone ID in :authority is 400 over HTTP/2', async () => {
    h.dest = { address: '127.0.0.1', port: h.h2Port };
    const session = http2.connect(`https://x.cdn.test:${h.proxy.port}`, {
      createConnection: () => tls.connect({ host: '127.0.0.1', port: h.proxy.port, servername: 'x.cdn.test', ca: h.proxyCaPem, ALPNProtocols: ['h2'] }),
    });
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const req = session.request({ ':path': '/', ':authority': '[::1%x.cdn.test]' });
        req.on('response', (hd) => resolve(Number(hd[':status'])));
        req.on('error', reject);
        req.resume();
        req.end();
      });
      expect(status).toBe(400);
    } finally {
      session.destroy();
    }
    expect(h.seen).toHaveLength(0);
  });

  it('a zone ID (or other junk) in the SNI fails the handshake', async () => {
    h.dest = { address: '127.0.0.1', port: h.httpsPort };
    for (const servername of ['::1%x.cdn.test', 'a%b.cdn.test', '127.1']) {
      const outcome = await new Promise<string>((resolve) => {
        const s = tls.connect({ host: '127.0.0.1', port: h.proxy.port, servername, rejectUnauthorized: false });
        s.once('secureConnect', () => {
          s.destroy();
          resolve('handshake');
        });
        s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      });
      expect(outcome, servername).not.toBe('handshake');
    }
    const line = h.logs.find((l) => l.reason === 'bad-sni');
    expect(line).toMatchObject({ decision: 'deny' });
    expect(h.seen).toHaveLength(0);
  });

  it('ordinary names, IPv4 and bracketed IPv6 are still accepted', async () => {
    expect((await rawHttp('x.cdn.test')).status).toBe(200);
    expect((await rawHttp('under_score.cdn.test:80')).status).toBe(200);
    expect(h.seen).toHaveLength(2);
  });
});

describe('IP literals match only rules naming IPs', () => {
  it.each(['127.0.0.1', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]'])('Host %s under "allow * GET" and "*.cdn.test" is 403', async (host) => {
    const r = await rawHttp(host);
    expect(r.status).toBe(403);
    expect(r.text).toContain('127.0.0.1');
    expect(h.seen).toHaveLength(0);
  });

  it('a rule naming the IP allows it, in any spelling of that IP', async () => {
    await h.setSettings({ network: [{ action: 'allow', host: '127.0.0.1' }] });
    expect((await rawHttp('127.0.0.1')).status).toBe(200);
    expect((await rawHttp('[::ffff:127.0.0.1]')).status).toBe(200);
    expect(h.seen).toHaveLength(2);
    // The upstream is told the canonical address it was decided on.
    expect(h.seen.map((s) => s.headers.host)).toEqual(['127.0.0.1', '127.0.0.1']);
  });

  it('an IP-shaped glob allows the IPs it matches', async () => {
    await h.setSettings({ network: [{ action: 'allow', host: '127.0.0.*' }] });
    expect((await rawHttp('127.0.0.1')).status).toBe(200);
    expect((await rawHttp('127.0.0.attacker.test')).status).toBe(403);
  });

  it('TLS without SNI stays denied under "allow *"', async () => {
    await h.setSettings({ network: [{ action: 'allow', host: '*' }] });
    h.dest = { address: '127.0.0.1', port: h.httpsPort };
    const r = await h.request({ host: 'x.cdn.test', servername: null });
    expect(r.status).toBe(403);
    expect(r.text).toContain('127.0.0.1');
    expect(h.seen).toHaveLength(0);
  });
});
