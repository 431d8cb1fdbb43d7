/**
 * Red-team holes in name handling, now closed (they were would-be tests in the red-team report):
 *  1. an IPv6 zone ID in Host (`[::1%x.cdn.allowed.test]`) made an IP literal match a name glob;
 *  2. raw TCP skipped interception: silence past the sniff timeout, then the agent's own TLS, or
 *     a leading CRLF before an HTTP request, went out as an undecided byte pipe;
 *  5. an allowed name resolving to loopback reached the proxy's own local services.
 * Each case asserts what the agent saw AND what reached the upstream / the local service, with
 * the real daemon, tunnel and clients (python sockets, curl) in the agent namespace.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, LAB_IP, LAB_NAMES, labSkipReason, onLines, spawnIn, stopChild, waitFor, type Lab } from './lib/index.js';
import { probe, statusOf } from './attacks-lib.js';

const skip = labSkipReason();
if (skip) console.warn(`skipping the fixed-names lab test: ${skip}`);

const UP4 = LAB_IP.upstream4;
/** A service only the proxy's own loopback serves (an admin endpoint, Docker's DNS, a sidecar…). */
const LOOPBACK_PORT = 9999;

describe.skipIf(skip)('red team, fixed: zone IDs, late TLS/HTTP on raw TCP, names resolving to loopback', () => {
  let lab: Lab;
  let local: ChildProcess | undefined;
  const localHits: string[] = [];

  beforeAll(async () => {
    lab = await createLab({
      tag: 'h12',
      names: [...LAB_NAMES, 'get.allowed.test'],
      records: { 'loop.allowed.test': { A: ['127.0.0.1'], AAAA: ['::1'] } },
      settings: {
        network: [
          { action: 'allow', host: 'api.allowed.test' },
          { action: 'allow', host: 'get.allowed.test', method: 'GET' },
          { action: 'allow', host: 'loop.allowed.test' },
          { action: 'allow', host: '*.cdn.allowed.test' },
        ],
      },
    });
    const code = `require('net').createServer((s)=>{s.on('data',(d)=>{process.stdout.write(JSON.stringify(d.toString('latin1'))+'\\n');s.end('HTTP/1.1 200 OK\\r\\ncontent-length: 6\\r\\n\\r\\nlocal\\n')});s.on('error',()=>{})}).listen(${LOOPBACK_PORT},'::',()=>console.log('"ready"'))`;
    local = spawnIn(lab.ns.proxy, process.execPath, ['-e', code]);
    onLines(local.stdout!, (l) => localHits.push(l));
    await waitFor('the loopback service', () => localHits.includes('"ready"'));
    localHits.length = 0;
  }, 120_000);

  afterAll(async () => {
    if (local) await stopChild(local);
    await lab?.destroy();
  });

  // First: once the agent has resolved get.allowed.test (GET-only, so opaque-denied) to the shared
  // upstream IP, raw TCP to that IP is denied by design (every attributed name must allow it).
  it('server-first raw TCP still works after the sniff timeout (banner, then the client talks)', async () => {
    await lab.agentDig('api.allowed.test', 'A');
    const r = await probe(lab, { host: UP4, port: 2222, delay: 1.5, send: ['SSH-2.0-client\r\n'], read_until_close: false });
    expect(r.data).toMatch(/^SSH-2\.0-/);
  });

  it('HOLE 1: a zone ID in Host is 400, and an IP literal never matches a name glob', async () => {
    lab.clearUpstreamLog();
    for (const host of ['[::1%x.cdn.allowed.test]', '[::ffff:127.0.0.1%x.cdn.allowed.test]', '::1%x.cdn.allowed.test', '[::1%25x.cdn.allowed.test]']) {
      const r = await probe(lab, { host: UP4, port: LOOPBACK_PORT, send: [`GET /admin HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`] });
      expect(statusOf(r.data), host).toBe(400);
    }
    // Without the zone: an IP literal is decided only by rules naming that IP (none here).
    for (const host of ['[::1]', '[::ffff:127.0.0.1]', '10.201.0.99']) {
      const r = await probe(lab, { host: UP4, port: 7777, send: [`GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`] });
      expect(statusOf(r.data), host).toBe(403);
    }
    // The same trick in the SNI: the TLS handshake is refused.
    const t = await probe(lab, { host: UP4, port: 443, tls: true, verify: false, sni: '::1%x.cdn.allowed.test', alpn: ['http/1.1'], send: ['GET / HTTP/1.1\r\nHost: x.cdn.allowed.test\r\nConnection: close\r\n\r\n'] });
    expect(t.tls).toBeNull();
    expect(statusOf(t.data)).toBe(0);
    expect(localHits).toEqual([]);
    expect(lab.upstreamEvents().filter((e) => e.kind === 'tcp-accept' || e.kind === 'http')).toEqual([]);
  });

  it('HOLE 2a: silence past the sniff timeout, then the agent’s own TLS: intercepted and decided (403), nothing upstream', async () => {
    lab.clearUpstreamLog();
    await lab.agentDig('api.allowed.test', 'A'); // the address is now attributed to an allowed name
    const r = await probe(lab, { host: UP4, port: 443, delay: 1.5, tls: true, verify: false, sni: 'denied.test', alpn: ['http/1.1'], send: ['POST /echo HTTP/1.1\r\nHost: denied.test\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi'] });
    expect(r.tls).not.toBeNull(); // the proxy terminated it (sandcat leaf), so it could decide
    expect(statusOf(r.data)).toBe(403);
    expect(lab.upstreamRequests({ host: 'denied.test' })).toEqual([]);
    // The allowed name still works the same way (late ClientHello, intercepted, forwarded).
    const ok = await probe(lab, { host: UP4, port: 443, delay: 1.5, tls: true, sni: 'api.allowed.test', alpn: ['http/1.1'], send: ['GET /echo HTTP/1.1\r\nHost: api.allowed.test\r\nConnection: close\r\n\r\n'] });
    expect(statusOf(ok.data)).toBe(200);
  });

  it('HOLE 2a′: silence, then a plain HTTP request: decided on Host and method', async () => {
    lab.clearUpstreamLog();
    await lab.agentDig('get.allowed.test', 'A');
    const r = await probe(lab, { host: UP4, port: 80, delay: 1.5, send: ['POST /echo HTTP/1.1\r\nHost: denied.test\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi'] });
    expect(statusOf(r.data)).toBe(403);
    // A partial method, silence, then the rest: still HTTP.
    const p = await probe(lab, { host: UP4, port: 80, send: ['PO', { pause: 1.5 }, 'ST /echo HTTP/1.1\r\nHost: denied.test\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi'] });
    expect(statusOf(p.data)).toBe(403);
    expect(lab.upstreamRequests({ host: 'denied.test' })).toEqual([]);
    expect(lab.upstreamRequests({ method: 'POST' })).toEqual([]);
  });

  it('HOLE 2b: a leading CRLF or an unlisted method does not turn an HTTP request into raw TCP', async () => {
    lab.clearUpstreamLog();
    await lab.agentDig('get.allowed.test', 'A');
    for (const send of [
      '\r\nPOST /echo HTTP/1.1\r\nHost: denied.test\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi',
      '\n\n\r\nPOST /echo HTTP/1.1\r\nHost: get.allowed.test\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi',
      'BREW /echo HTTP/1.1\r\nHost: denied.test\r\nConnection: close\r\n\r\n',
      'post /echo HTTP/1.1\r\nHost: denied.test\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi',
    ]) {
      const r = await probe(lab, { host: UP4, port: 80, send: [send] });
      expect([400, 403], JSON.stringify(send.slice(0, 12))).toContain(statusOf(r.data));
    }
    expect(lab.upstreamRequests({ host: 'denied.test' })).toEqual([]);
    expect(lab.upstreamRequests({ method: 'POST' })).toEqual([]);
    expect(lab.upstreamEvents().filter((e) => e.kind === 'http')).toEqual([]);
    // GET under the GET-only rule still passes with the leading CRLF.
    const ok = await probe(lab, { host: UP4, port: 80, send: ['\r\nGET /echo HTTP/1.1\r\nHost: get.allowed.test\r\nConnection: close\r\n\r\n'] });
    expect(statusOf(ok.data)).toBe(200);
  });

  it('a method-limited rule never opens a raw byte pipe (opaque)', async () => {
    lab.clearUpstreamLog();
    // get.allowed.test (allow GET only) shares the upstream IP: the agent resolved it, so it counts.
    await lab.agentDig('get.allowed.test', 'A');
    const r = await probe(lab, { host: UP4, port: 7777, send: ['hello\n'], read_timeout: 2 });
    expect(r.data).not.toContain('hello');
    expect(lab.upstreamEvents().filter((e) => e.kind === 'tcp-accept')).toEqual([]);
  });

  it('HOLE 5: an allowed name resolving to loopback gets 502, the local service sees nothing', async () => {
    const r = await lab.agentCurl(['-H', 'Host: loop.allowed.test', `http://${UP4}:${LOOPBACK_PORT}/admin`]);
    expect(r.status).toBe(502);
    expect(r.body).toContain('loop.allowed.test resolves to');
    expect(r.body).toContain('a local address sandcat does not connect to');
    expect(localHits).toEqual([]);
  });
});
