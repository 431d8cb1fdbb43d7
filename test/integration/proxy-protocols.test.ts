import { execFile } from 'node:child_process';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { baseSettings, collect, Harness, PLACEHOLDER, SECRET_VALUE } from './proxy-harness.js';

const run = promisify(execFile);
let h: Harness;
beforeAll(async () => {
  h = await new Harness({ settings: baseSettings() }).start();
  await h.setSettings(baseSettings({ bannerPort: h.bannerPort }));
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => {
  h.dest = { address: '127.0.0.1', port: h.httpsPort };
  h.attributed = [];
  h.seen.length = 0;
});

function tlsTo(servername: string | undefined, ALPNProtocols?: string[], ca = h.proxyCaPem): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: h.proxy.port, servername, ca, ALPNProtocols }, () => resolve(s));
    s.once('error', reject);
  });
}

describe('streaming', () => {
  it('delivers the first server-sent event before the upstream has sent the last', async () => {
    const events: string[] = [];
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      https.get({ host: '127.0.0.1', port: h.proxy.port, servername: 'api.test', ca: h.proxyCaPem, path: '/sse', headers: { host: 'api.test', accept: 'text/event-stream' }, agent: false }, resolve).on('error', reject);
    });
    expect(res.headers['content-type']).toBe('text/event-stream');
    const first = await new Promise<string>((resolve) => res.once('data', (c: Buffer) => resolve(c.toString())));
    events.push(first);
    // Only now does the upstream send its last event.
    expect(h.gates.has('/sse')).toBe(true);
    h.gates.get('/sse')!();
    const rest = await collect(res);
    events.push(rest.text);
    expect(events[0]).toBe('data: first\n\n');
    expect(events.join('')).toBe('data: first\n\ndata: last\n\n');
  });

  it('answers Expect: 100-continue and forwards the body', async () => {
    const r = await new Promise<{ status: number; text: string; continued: boolean }>((resolve, reject) => {
      let continued = false;
      const req = https.request({ host: '127.0.0.1', port: h.proxy.port, servername: 'api.test', ca: h.proxyCaPem, method: 'PUT', path: '/count', headers: { host: 'api.test', expect: '100-continue', 'content-length': '5' }, agent: false });
      req.on('continue', () => {
        continued = true;
        req.end('hello');
      });
      req.on('response', (res) => collect(res).then((b) => resolve({ status: b.status, text: b.text, continued }), reject));
      req.on('error', reject);
    });
    expect(r.continued).toBe(true);
    expect(r.status).toBe(200);
    expect(r.text).toBe('5');
  });

  it('refuses a denied 100-continue upload before the body is sent', async () => {
    const r = await new Promise<{ status: number; continued: boolean }>((resolve, reject) => {
      let continued = false;
      const req = https.request({ host: '127.0.0.1', port: h.proxy.port, servername: 'evil.test', ca: h.proxyCaPem, method: 'PUT', path: '/x', headers: { host: 'evil.test', expect: '100-continue', 'content-length': '5' }, agent: false });
      req.on('continue', () => (continued = true));
      req.on('response', (res) => collect(res).then((b) => resolve({ status: b.status, continued }), reject));
      req.on('error', reject);
    });
    expect(r).toEqual({ status: 403, continued: false });
  });

  it('streams a large download with backpressure', async () => {
    const size = 32 * 1024 * 1024;
    const r = await h.request({ host: 'api.test', path: `/bytes/${size}` });
    expect(r.status).toBe(200);
    expect(r.body.length).toBe(size);
  });
});

describe('WebSocket', () => {
  it('relays messages both ways through an allowed upgrade, with secrets substituted in the handshake', async () => {
    const ws = new WebSocket('wss://api.test/ws', {
      createConnection: () => tls.connect({ host: '127.0.0.1', port: h.proxy.port, servername: 'api.test', ca: h.proxyCaPem }),
      headers: { authorization: `Bearer ${PLACEHOLDER}` },
    } as WebSocket.ClientOptions);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.send('ping');
    const msg = await new Promise<string>((resolve) => ws.once('message', (m) => resolve(m.toString())));
    expect(msg).toBe('echo:ping');
    ws.close();
    expect(h.seen.at(-1)!.headers.authorization).toBe(`Bearer ${SECRET_VALUE}`);
  });

  it('refuses a denied upgrade with a readable 403', async () => {
    const ws = new WebSocket('wss://evil.test/ws', {
      createConnection: () => tls.connect({ host: '127.0.0.1', port: h.proxy.port, servername: 'evil.test', ca: h.proxyCaPem }),
    } as WebSocket.ClientOptions);
    const status = await new Promise<number>((resolve) => {
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode!));
      ws.once('error', () => resolve(-1));
    });
    expect(status).toBe(403);
    expect(h.seen).toHaveLength(0);
  });
});

describe('upstream failures', () => {
  it('answers 502 naming the cause when upstream TLS verification fails', async () => {
    const r = await h.request({ host: 'badcert.test' });
    expect(r.status).toBe(502);
    expect(r.headers['x-sandcat-error']).toBe('1');
    expect(r.text).toContain('failed verification');
    expect(r.text).toContain('upstream_ca');
  });

  it('answers 502 when the upstream refuses the connection', async () => {
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise((r) => closed.close(r));
    h.dest = { address: '127.0.0.1', port };
    const r = await h.request({ host: 'api.test' });
    expect(r.status).toBe(502);
    expect(r.text).toContain('ECONNREFUSED');
  });

  it('answers 502 when the proxy cannot resolve the name', async () => {
    const r = await h.request({ host: 'nxdomain.test' });
    expect(r.status).toBe(502);
    expect(r.text).toContain('could not resolve nxdomain.test');
  });
});

describe('malformed input', () => {
  it('closes a connection whose ClientHello is garbage and keeps serving', async () => {
    const s = net.connect(h.proxy.port, '127.0.0.1');
    s.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 0x02, 0, 0, 1, 0]));
    await new Promise<void>((resolve) => s.on('close', () => resolve()).on('error', () => {}));
    const r = await h.request({ host: 'api.test' });
    expect(r.status).toBe(200);
  });

  it('answers 400 to a malformed HTTP request', async () => {
    const s = await tlsTo('api.test');
    s.write('GET / HTTP/1.1\r\nHost api.test\r\n\r\n');
    const text = await new Promise<string>((resolve) => {
      let buf = '';
      s.on('data', (d) => (buf += d));
      s.on('close', () => resolve(buf));
    });
    expect(text).toMatch(/^HTTP\/1\.1 400/);
  });

  it('answers 431 to oversized headers', async () => {
    const r = await h.request({ host: 'api.test', headers: { 'x-big': 'a'.repeat(80 * 1024) } }).catch((e: Error) => ({ status: -1, text: e.message }));

    expect(r.status).toBe(431);
  });
});

describe('raw TCP', () => {
  beforeEach(() => {
    h.dest = { address: '127.0.0.1', port: h.bannerPort };
  });

  it('relays a server-first protocol allowed by its DNS name and port', async () => {
    h.attributed = ['ssh.test'];
    const s = net.connect(h.proxy.port, '127.0.0.1');
    const banner = await new Promise<string>((resolve, reject) => {
      s.once('data', (d) => resolve(d.toString()));
      s.once('error', reject);
    });
    expect(banner).toBe('SSH-2.0-h3test\r\n');
    s.write('hi');
    const reply = await new Promise<string>((resolve) => s.once('data', (d) => resolve(d.toString())));
    expect(reply).toBe('got:hi');
    s.destroy();
  });

  it('resets a connection to an IP nobody resolved', async () => {
    const s = net.connect(h.proxy.port, '127.0.0.1');
    const err = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
      s.once('error', resolve);
      s.once('close', () => resolve(null));
    });
    expect(err?.code).toBe('ECONNRESET');
    const line = h.logs.filter((l) => l.proto === 'tcp').at(-1)!;
    expect(line).toMatchObject({ decision: 'deny', dest: '127.0.0.1', reason: 'no-rule-matched' });
  });

  it('resets a name allowed only on another port', async () => {
    h.attributed = ['ssh.test'];
    h.dest = { address: '127.0.0.1', port: h.httpPort };
    const s = net.connect(h.proxy.port, '127.0.0.1');
    s.write('\x00\x01binary');
    const err = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
      s.once('error', resolve);
      s.once('close', () => resolve(null));
    });
    expect(err?.code).toBe('ECONNRESET');
  });
});

describe('TLS pass-through', () => {
  it('relays TLS untouched for an intercept:false rule: the agent sees the upstream certificate', async () => {
    const s = await tlsTo('pinned.test', ['http/1.1'], h.upstreamCaPem);
    expect(s.getPeerCertificate().subjectaltname).toBe('DNS:pinned.test');
    s.write('GET /pt HTTP/1.1\r\nHost: pinned.test\r\nConnection: close\r\n\r\n');
    const text = await new Promise<string>((resolve) => {
      let buf = '';
      s.on('data', (d) => (buf += d));
      s.on('end', () => resolve(buf));
    });
    expect(text).toMatch(/^HTTP\/1\.1 200/);
    expect(h.seen.at(-1)!.url).toBe('/pt');
  });

  it('resets a pass-through connection when a DNS-attributed name is denied', async () => {
    h.attributed = ['evil.test'];
    const err = await tlsTo('pinned.test', undefined, h.upstreamCaPem).then(
      (s) => (s.destroy(), null),
      (e: NodeJS.ErrnoException) => e,
    );
    expect(err?.code).toBe('ECONNRESET');
  });
});

describe('HTTP/2', () => {
  beforeEach(() => {
    h.dest = { address: '127.0.0.1', port: h.h2Port };
  });

  function h2get(session: http2.ClientHttp2Session, authority: string, path: string, extra: http2.OutgoingHttpHeaders = {}): Promise<{ status: number; body: string; headers: http2.IncomingHttpHeaders }> {
    return new Promise((resolve, reject) => {
      const st = session.request({ ':path': path, ':authority': authority, ...extra });
      let body = '';
      let headers: http2.IncomingHttpHeaders = {};
      st.on('response', (hd) => (headers = hd));
      st.on('data', (d) => (body += d));
      st.on('end', () => resolve({ status: Number(headers[':status']), body, headers }));
      st.on('error', reject);
      st.end();
    });
  }

  it('decides multiplexed streams independently and speaks h2 upstream', async () => {
    const session = http2.connect(`https://api.test:${h.proxy.port}`, {
      createConnection: () => tls.connect({ host: '127.0.0.1', port: h.proxy.port, servername: 'api.test', ca: h.proxyCaPem, ALPNProtocols: ['h2'] }),
    });
    try {
      const [ok, denied, method, secret] = await Promise.all([
        h2get(session, 'api.test', '/a'),
        h2get(session, 'evil.test', '/b'),
        h2get(session, 'api.test', '/c', { ':method': 'DELETE' }),
        h2get(session, 'api.test', `/d?t=${PLACEHOLDER}`, { 'x-reflect': PLACEHOLDER }),
      ]);
      expect(ok.status).toBe(200);
      expect(JSON.parse(ok.body).httpVersion).toBe('2.0');
      expect(denied.status).toBe(403);
      expect(denied.body).toContain('GET evil.test');
      expect(method.status).toBe(403);
      expect(secret.status).toBe(200);
      expect(secret.body).not.toContain(SECRET_VALUE);
      expect(secret.headers['x-echo-reflect']).toBe(PLACEHOLDER);
      const upstreamSawSecret = h.seen.find((s) => s.url.startsWith('/d'));
      expect(upstreamSawSecret?.url).toBe(`/d?t=${SECRET_VALUE}`);
      expect(h.seen.map((s) => s.url).sort()).toEqual(['/a', `/d?t=${SECRET_VALUE}`]);
    } finally {
      session.close();
    }
  });

  it('translates to HTTP/1.1 when the origin does not offer h2', async () => {
    h.dest = { address: '127.0.0.1', port: h.httpsPort };
    const session = http2.connect(`https://other.test:${h.proxy.port}`, {
      createConnection: () => tls.connect({ host: '127.0.0.1', port: h.proxy.port, servername: 'other.test', ca: h.proxyCaPem, ALPNProtocols: ['h2'] }),
    });
    try {
      const r = await h2get(session, 'other.test', '/via-h1');
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body).httpVersion).toBe('1.1');
    } finally {
      session.close();
    }
  });

  it('works with curl --http2 and refuses a denied host', async () => {
    const caFile = h.upstreamCaFile.replace('up-public', 'public');
    const args = (host: string) => ['-sS', '--http2', '--cacert', caFile, '--resolve', `${host}:${h.proxy.port}:127.0.0.1`, '-o', '-', '-w', '\n%{http_version} %{http_code}', `https://${host}:${h.proxy.port}/curl`];
    const ok = await run('curl', args('api.test'));
    expect(ok.stdout.trim().split('\n').at(-1)).toBe('2 200');
    const denied = await run('curl', args('evil.test'));
    expect(denied.stdout).toContain('Blocked by sandcat network policy');
    expect(denied.stdout.trim().split('\n').at(-1)).toBe('2 403');
  });

  it('serves h2c (prior knowledge) on plain connections, translated to HTTP/1.1 upstream', async () => {
    h.dest = { address: '127.0.0.1', port: h.httpPort };
    const session = http2.connect(`http://plain.test:${h.proxy.port}`, { createConnection: () => net.connect(h.proxy.port, '127.0.0.1') });
    try {
      const [ok, denied] = await Promise.all([h2get(session, 'plain.test', '/h2c'), h2get(session, 'evil.test', '/h2c')]);
      expect(ok.status).toBe(200);
      expect(JSON.parse(ok.body).headers.host).toBe('plain.test');
      expect(denied.status).toBe(403);
    } finally {
      session.close();
    }
  });

  it('negotiates h2 with openssl s_client -alpn h2', async () => {
    const caFile = h.upstreamCaFile.replace('up-public', 'public');
    const { stdout } = await run('sh', ['-c', `echo | openssl s_client -connect 127.0.0.1:${h.proxy.port} -servername api.test -alpn h2 -CAfile ${caFile} 2>&1`]);
    expect(stdout).toContain('ALPN protocol: h2');
    expect(stdout).toContain('Verify return code: 0 (ok)');
  });
});
