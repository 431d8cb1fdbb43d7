/**
 * The DNS server end to end on loopback: real UDP/TCP sockets, a fake upstream that counts what
 * it receives, real `dig`. No mocks.
 */
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { connect, createServer, type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import dnsPacket from 'dns-packet';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LiveState } from '../../src/daemon/live-state.js';
import { NameAttribution, startDnsServer, UpstreamResolver, type DnsServer } from '../../src/dns/index.js';
import { compilePolicy } from '../../src/policy/index.js';
import { SecretVault } from '../../src/secrets/index.js';
import { mergeLayers } from '../../src/settings/index.js';
import { startFakeUpstream, type FakeUpstream } from './dns-fake-upstream.js';

const run = promisify(execFile);

function snapshotOf(userSettings: object | null) {
  const settings = mergeLayers([{ layer: 'user', file: '/test/settings.json', text: userSettings === null ? null : JSON.stringify(userSettings) }]);
  return { settings, policy: compilePolicy(settings.rules, settings.configured), vault: new SecretVault([]) };
}

const ZONE = {
  'allowed.test': { A: ['192.0.2.10', '192.0.2.11'], AAAA: ['2001:db8::10'], ttl: 120 },
  'denied.test': { A: ['192.0.2.66'] },
  'www.allowed.test': { CNAME: 'edge.cdn.test', ttl: 200 },
  'edge.cdn.test': { A: ['198.51.100.7'], ttl: 50 },
  'slow.allowed.test': { A: ['192.0.2.99'] },
  'big.allowed.test': { A: Array.from({ length: 60 }, (_, i) => `203.0.113.${i + 1}`), ttl: 100 },
  'txt.allowed.test': { TXT: ['hello'] },
  'later.test': { A: ['192.0.2.77'] },
};

function baseSettings(upstreamDns: boolean, extra: object = {}) {
  return {
    network: [
      { action: 'allow', host: 'allowed.test' },
      { action: 'allow', host: '*.allowed.test' },
      { action: 'deny', host: 'denied.test' },
      { action: 'allow', host: 'localonly.test' },
      { action: 'allow', host: 'www.allowed.test', method: 'GET' },
    ],
    ...(upstreamDns ? { dns_servers: ['127.0.0.1'] } : {}),
    extra_hosts: { 'localonly.test': '10.9.8.7', 'local6.allowed.test': 'fd00::7', 'deniedlocal.test': '10.0.0.1' },
    ...extra,
  };
}

interface Logged {
  msg: string;
  client?: string;
  name?: string;
  type?: string;
  decision?: string;
  rule?: { layer: string; index: number } | null;
  rcode?: string;
  note?: string;
}

function captureLogger() {
  const lines: Logged[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l.trim()) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

/** One UDP exchange with the server under test; resolves with the decoded answer or null on timeout. */
function udpAsk(port: number, name: string, type: dnsPacket.RecordType = 'A', raw?: Buffer, timeoutMs = 3000): Promise<dnsPacket.Packet & { rcode?: string } | null> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    const id = Math.floor(Math.random() * 65535);
    const msg = raw ?? dnsPacket.encode({ id, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type, class: 'IN' }] });
    const timer = setTimeout(() => {
      sock.close();
      resolve(null);
    }, timeoutMs);
    sock.on('message', (resp) => {
      clearTimeout(timer);
      sock.close();
      resolve(dnsPacket.decode(resp) as dnsPacket.Packet & { rcode?: string });
    });
    sock.send(msg, port, '127.0.0.1');
  });
}

async function dig(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('dig', ['@127.0.0.1', '-p', String(port), '+time=3', '+tries=1', ...args], { timeout: 15_000 });
  return stdout;
}

describe('DNS server', () => {
  let upstream: FakeUpstream;
  let state: LiveState;
  let resolver: UpstreamResolver;
  let attribution: NameAttribution;
  let server: DnsServer;
  let logs: Logged[];

  beforeAll(async () => {
    upstream = await startFakeUpstream({ zone: ZONE, silent: ['slow.allowed.test'], truncateUdp: ['big.allowed.test'] });
  });
  afterAll(async () => {
    await upstream?.close();
  });

  beforeEach(async () => {
    upstream.queries.length = 0;
    state = new LiveState(snapshotOf(baseSettings(true)));
    resolver = new UpstreamResolver(state, { port: upstream.port, timeoutMs: 300, attempts: 2, totalTimeoutMs: 1500 });
    attribution = new NameAttribution();
    const cap = captureLogger();
    logs = cap.lines;
    server = await startDnsServer({ host: '127.0.0.1', port: 0, state, attribution, resolver, logger: cap.logger });
  });
  afterEach(async () => {
    await server?.close();
  });

  const lookupLines = () => logs.filter((l) => l.msg === 'dns lookup');

  it('answers an allowed name with the upstream addresses and TTL, and records attribution', async () => {
    const resp = await udpAsk(server.udpPort, 'Allowed.Test.');
    expect(resp?.rcode).toBe('NOERROR');
    expect(resp!.answers!.map((a) => a.data).sort()).toEqual(['192.0.2.10', '192.0.2.11']);
    expect(resp!.answers!.every((a) => a.ttl === 120)).toBe(true);
    expect(resp!.questions![0]!.name).toBe('Allowed.Test'); // the client's spelling echoed (0x20)
    expect(upstream.countFor('allowed.test')).toBe(1);
    expect(attribution.namesFor('127.0.0.1', '192.0.2.11')).toEqual(['allowed.test']);
    expect(attribution.namesFor('::ffff:127.0.0.1', '::ffff:192.0.2.10')).toEqual(['allowed.test']);
    expect(lookupLines()).toEqual([
      expect.objectContaining({ client: '127.0.0.1', name: 'allowed.test', type: 'A', decision: 'allow', rule: { layer: 'user', index: 0 }, rcode: 'NOERROR' }),
    ]);
  });

  it('refuses a denied name and sends nothing upstream (explicit deny and default deny)', async () => {
    const denied = await udpAsk(server.udpPort, 'denied.test');
    const unknown = await udpAsk(server.udpPort, 'exfil-c2VjcmV0.attacker.example', 'TXT');
    expect(denied?.rcode).toBe('REFUSED');
    expect(denied!.answers).toEqual([]);
    expect(unknown?.rcode).toBe('REFUSED');
    expect(upstream.queries).toEqual([]);
    expect(lookupLines()).toEqual([
      expect.objectContaining({ name: 'denied.test', decision: 'deny', rule: { layer: 'user', index: 2 }, rcode: 'REFUSED' }),
      expect.objectContaining({ name: 'exfil-c2vjcmv0.attacker.example', type: 'TXT', decision: 'deny', rule: null, rcode: 'REFUSED' }),
    ]);
    expect(attribution.size).toBe(0);
  });

  it('answers AAAA through the same policy', async () => {
    const resp = await udpAsk(server.udpPort, 'allowed.test', 'AAAA');
    expect(resp?.rcode).toBe('NOERROR');
    expect(resp!.answers!.map((a) => a.data)).toEqual(['2001:db8::10']);
    expect(attribution.namesFor('127.0.0.1', '2001:0db8:0:0::10')).toEqual(['allowed.test']);
    const denied = await udpAsk(server.udpPort, 'denied.test', 'AAAA');
    expect(denied?.rcode).toBe('REFUSED');
    expect(upstream.countFor('denied.test')).toBe(0);
  });

  it('answers extra_hosts locally with no upstream query, and refuses a denied extra host', async () => {
    const a = await udpAsk(server.udpPort, 'localonly.test');
    expect(a?.rcode).toBe('NOERROR');
    expect(a!.answers!.map((x) => x.data)).toEqual(['10.9.8.7']);
    const aaaa = await udpAsk(server.udpPort, 'localonly.test', 'AAAA');
    expect(aaaa?.rcode).toBe('NOERROR');
    expect(aaaa!.answers).toEqual([]); // NODATA: the extra host is IPv4
    const v6 = await udpAsk(server.udpPort, 'local6.allowed.test', 'AAAA');
    expect(v6!.answers!.map((x) => x.data)).toEqual(['fd00::7']);
    const deniedLocal = await udpAsk(server.udpPort, 'deniedlocal.test');
    expect(deniedLocal?.rcode).toBe('REFUSED');
    expect(upstream.queries).toEqual([]);
    expect(attribution.namesFor('127.0.0.1', '10.9.8.7')).toEqual(['localonly.test']);
  });

  it('attributes a CNAME chain to the name the client asked for, with the chain’s lowest TTL', async () => {
    const resp = await udpAsk(server.udpPort, 'www.allowed.test');
    expect(resp?.rcode).toBe('NOERROR');
    expect(resp!.answers!.map((a) => a.type)).toEqual(['CNAME', 'A']);
    expect(attribution.namesFor('127.0.0.1', '198.51.100.7')).toEqual(['www.allowed.test']);
    expect(lookupLines()[0]).toMatchObject({ decision: 'allow', rule: { layer: 'user', index: 1 } });
  });

  it('serves repeated queries from the cache within the TTL', async () => {
    await udpAsk(server.udpPort, 'allowed.test');
    await udpAsk(server.udpPort, 'allowed.test');
    const third = await udpAsk(server.udpPort, 'ALLOWED.test');
    expect(third!.answers!.length).toBe(2);
    expect(upstream.countFor('allowed.test')).toBe(1);
    expect(lookupLines()).toHaveLength(3);
  });

  it('works over TCP, from real dig, several queries on one connection', async () => {
    const out = await dig(server.tcpPort, '+tcp', 'allowed.test', 'A');
    expect(out).toContain('status: NOERROR');
    expect(out).toMatch(/allowed\.test\.\s+120\s+IN\s+A\s+192\.0\.2\.10/);
    const refused = await dig(server.tcpPort, '+tcp', 'denied.test');
    expect(refused).toContain('status: REFUSED');
    // Two pipelined queries on one TCP connection.
    const answers = await new Promise<dnsPacket.Packet[]>((resolve, reject) => {
      const sock = connect(server.tcpPort, '127.0.0.1');
      const got: dnsPacket.Packet[] = [];
      let buf = Buffer.alloc(0);
      sock.on('error', reject);
      sock.on('connect', () => {
        const q1 = dnsPacket.streamEncode({ id: 1, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name: 'allowed.test', type: 'AAAA' }] });
        const q2 = dnsPacket.streamEncode({ id: 2, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name: 'denied.test', type: 'A' }] });
        sock.write(Buffer.concat([q1, q2]));
      });
      sock.on('data', (chunk) => {
        buf = Buffer.concat([buf, chunk]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          got.push(dnsPacket.decode(buf.subarray(2, 2 + buf.readUInt16BE(0))));
          buf = buf.subarray(2 + buf.readUInt16BE(0));
        }
        if (got.length === 2) {
          sock.destroy();
          resolve(got);
        }
      });
    });
    const byId = new Map(answers.map((a) => [a.id, a as dnsPacket.Packet & { rcode?: string }]));
    expect(byId.get(1)!.rcode).toBe('NOERROR');
    expect(byId.get(1)!.answers!.map((a) => a.data)).toEqual(['2001:db8::10']);
    expect(byId.get(2)!.rcode).toBe('REFUSED');
    expect(upstream.countFor('denied.test')).toBe(0);
  });

  it('falls back to TCP upstream on a truncated answer, and truncates for a small UDP client', async () => {
    // dig over UDP without EDNS: 60 A records do not fit 512 bytes, so TC; dig retries over TCP.
    const out = await dig(server.udpPort, '+noedns', 'big.allowed.test');
    expect(out).toContain('status: NOERROR');
    expect(out).toContain('203.0.113.60');
    expect(upstream.queries.filter((q) => q.name === 'big.allowed.test').map((q) => q.transport)).toEqual(['udp', 'tcp']);
    const small = await udpAsk(server.udpPort, 'big.allowed.test');
    expect(small?.flag_tc).toBe(true);
    expect(small!.answers).toEqual([]);
  });

  it('answers SERVFAIL, not a hang, when the upstream does not answer', async () => {
    const started = Date.now();
    const resp = await udpAsk(server.udpPort, 'slow.allowed.test', 'A', undefined, 5000);
    expect(resp?.rcode).toBe('SERVFAIL');
    expect(Date.now() - started).toBeLessThan(2500);
    expect(upstream.countFor('slow.allowed.test')).toBeGreaterThanOrEqual(2); // retried
    expect(lookupLines().at(-1)).toMatchObject({ name: 'slow.allowed.test', rcode: 'SERVFAIL', note: expect.stringContaining('no answer') });
  });

  it('relays NXDOMAIN for an allowed name that does not exist', async () => {
    const resp = await udpAsk(server.udpPort, 'nope.allowed.test');
    expect(resp?.rcode).toBe('NXDOMAIN');
    await udpAsk(server.udpPort, 'nope.allowed.test');
    expect(upstream.countFor('nope.allowed.test')).toBe(1); // negative answer cached (SOA minimum)
  });

  it('survives malformed UDP packets and garbage TCP frames, and keeps answering', async () => {
    const junk = [Buffer.alloc(0), Buffer.from('hello'), Buffer.alloc(12, 0xff), Buffer.from('0001010000010000000000000377777703', 'hex'), Buffer.alloc(600, 0x3f)];
    const sock = createSocket('udp4');
    for (const j of junk) await new Promise<void>((resolve) => sock.send(j, server.udpPort, '127.0.0.1', () => resolve()));
    sock.close();
    // A readable header with a broken question gets FORMERR.
    const formerr = await udpAsk(server.udpPort, '', 'A', Buffer.from('abcd010000010000000000000377777703', 'hex'));
    expect(formerr?.rcode).toBe('FORMERR');
    // A label with a '.' inside it would be decided as one name and resolved as another: refused.
    const trick = Buffer.concat([Buffer.from([0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 9]), Buffer.from('x.allowed'), Buffer.from([4]), Buffer.from('test'), Buffer.from([0, 0, 1, 0, 1])]);
    const trickResp = await udpAsk(server.udpPort, '', 'A', trick);
    expect(trickResp?.rcode).toBe('REFUSED');
    // Garbage on TCP: a short frame, then an oversized length; both close the connection.
    for (const frame of [Buffer.from([0, 3, 1, 2, 3]), Buffer.from([0xff, 0xff, 1, 2, 3, 4])]) {
      await new Promise<void>((resolve) => {
        const c = connect(server.tcpPort, '127.0.0.1', () => c.write(frame));
        c.on('close', () => resolve());
        c.on('error', () => resolve());
      });
    }
    const ok = await udpAsk(server.udpPort, 'allowed.test');
    expect(ok?.rcode).toBe('NOERROR');
    const okTcp = await dig(server.tcpPort, '+tcp', 'allowed.test');
    expect(okTcp).toContain('status: NOERROR');
    expect(upstream.queries.map((q) => q.name)).toEqual(['allowed.test']);
    expect(logs.filter((l) => l.msg === 'dns: malformed packet dropped').length).toBeGreaterThan(3);
  });

  it('refuses ANY with NOTIMP, multi-question queries and non-IN classes with REFUSED', async () => {
    const any = await udpAsk(server.udpPort, 'allowed.test', 'ANY');
    expect(any?.rcode).toBe('NOTIMP');
    const two = dnsPacket.encode({ id: 9, type: 'query', questions: [{ name: 'allowed.test', type: 'A' }, { name: 'allowed.test', type: 'AAAA' }] });
    expect((await udpAsk(server.udpPort, '', 'A', two))?.rcode).toBe('REFUSED');
    const chaos = dnsPacket.encode({ id: 10, type: 'query', questions: [{ name: 'allowed.test', type: 'TXT', class: 'CH' }] });
    expect((await udpAsk(server.udpPort, '', 'A', chaos))?.rcode).toBe('REFUSED');
    expect(upstream.queries).toEqual([]);
  });

  it('decides PTR lookups by the rules like any name (denied by default)', async () => {
    const resp = await udpAsk(server.udpPort, '2.0.77.10.in-addr.arpa', 'PTR');
    expect(resp?.rcode).toBe('REFUSED');
    expect(upstream.queries).toEqual([]);
  });

  it('applies a reload to the next query: decisions, extra_hosts and dns_servers', async () => {
    expect((await udpAsk(server.udpPort, 'later.test'))?.rcode).toBe('REFUSED');
    const next = baseSettings(true, { extra_hosts: { 'localonly.test': '10.1.1.1' } });
    (next.network as object[]).unshift({ action: 'allow', host: 'later.test' }, { action: 'deny', host: 'allowed.test' });
    state.replace(snapshotOf(next));
    const later = await udpAsk(server.udpPort, 'later.test');
    expect(later?.rcode).toBe('NOERROR');
    expect(later!.answers!.map((a) => a.data)).toEqual(['192.0.2.77']);
    expect((await udpAsk(server.udpPort, 'allowed.test'))?.rcode).toBe('REFUSED');
    expect((await udpAsk(server.udpPort, 'localonly.test'))!.answers!.map((a) => a.data)).toEqual(['10.1.1.1']);
    expect(upstream.countFor('allowed.test')).toBe(0);
    // dns_servers pointing at a closed port: the next lookup fails (SERVFAIL), proving the switch.
    const dead = createServer();
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.2', resolve));
    dead.close();
    state.replace(snapshotOf(baseSettings(false, { dns_servers: ['127.0.0.2'] })));
    const failed = await udpAsk(server.udpPort, 'www.allowed.test', 'A', undefined, 5000);
    expect(failed?.rcode).toBe('SERVFAIL');
    expect(upstream.countFor('www.allowed.test')).toBe(0);
  });

  it('refuses everything when no settings file exists', async () => {
    state.replace(snapshotOf(null));
    expect((await udpAsk(server.udpPort, 'allowed.test'))?.rcode).toBe('REFUSED');
    expect((await udpAsk(server.udpPort, 'localonly.test'))?.rcode).toBe('REFUSED');
    expect(upstream.queries).toEqual([]);
    expect(lookupLines().every((l) => l.decision === 'deny' && l.rule === null)).toBe(true);
  });
});

describe('DNS server on a dual-stack listener', () => {
  it('answers v4 and v6 clients on "::" and records v4 clients under their plain address', async () => {
    const upstream = await startFakeUpstream({ zone: ZONE });
    const state = new LiveState(snapshotOf(baseSettings(true)));
    const attribution = new NameAttribution();
    const { logger, lines } = captureLogger();
    const server = await startDnsServer({ host: '::', port: 0, state, attribution, resolver: new UpstreamResolver(state, { port: upstream.port }), logger });
    try {
      const v4 = await dig(server.udpPort, 'allowed.test');
      expect(v4).toContain('status: NOERROR');
      const { stdout: v6 } = await run('dig', ['@::1', '-p', String(server.udpPort), '+time=3', '+tries=1', 'allowed.test', 'AAAA'], { timeout: 15_000 });
      expect(v6).toContain('2001:db8::10');
      expect(attribution.namesFor('127.0.0.1', '192.0.2.10')).toEqual(['allowed.test']);
      expect(attribution.namesFor('::1', '2001:db8::10')).toEqual(['allowed.test']);
      expect(lines.filter((l) => l.msg === 'dns lookup').map((l) => l.client)).toEqual(['127.0.0.1', '::1']);
    } finally {
      await server.close();
      await upstream.close();
    }
  });
});

describe('UpstreamResolver.lookup', () => {
  let upstream: FakeUpstream;
  beforeAll(async () => {
    upstream = await startFakeUpstream({ zone: { 'svc.test': { A: ['127.0.0.1'], AAAA: ['::1'] }, 'v6only.test': { AAAA: ['::1'] } } });
  });
  afterAll(async () => {
    await upstream?.close();
  });

  it('lets net.connect reach a server by the proxy’s own resolution', async () => {
    const state = new LiveState(snapshotOf({ network: [], dns_servers: ['127.0.0.1'], extra_hosts: { 'pinned.test': '127.0.0.1' } }));
    const resolver = new UpstreamResolver(state, { port: upstream.port, timeoutMs: 500 });
    const target = createServer((s) => s.end('hello from target\n'));
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    const port = (target.address() as AddressInfo).port;
    try {
      const read = (host: string, family?: number) =>
        new Promise<{ text: string; remote: string | undefined }>((resolve, reject) => {
          const c = connect({ host, port, lookup: resolver.lookup, family, autoSelectFamily: family === undefined });
          let text = '';
          c.on('data', (d) => (text += d));
          c.on('end', () => resolve({ text, remote: c.remoteAddress }));
          c.on('error', reject);
        });
      expect(await read('svc.test')).toEqual({ text: 'hello from target\n', remote: '127.0.0.1' });
      expect(await read('svc.test', 4)).toMatchObject({ remote: '127.0.0.1' });
      expect(await read('pinned.test')).toMatchObject({ text: 'hello from target\n' });
      expect(upstream.countFor('pinned.test')).toBe(0);
      await expect(read('missing.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });
      expect(await resolver.lookupAddresses('svc.test', 0)).toEqual([
        { address: '127.0.0.1', family: 4 },
        { address: '::1', family: 6 },
      ]);
      expect(await resolver.lookupAddresses('v6only.test', 0, false)).toEqual([{ address: '::1', family: 6 }]);
      await expect(resolver.lookupAddresses('v6only.test', 4)).rejects.toMatchObject({ code: 'ENOTFOUND' });
      await expect(resolver.lookupAddresses('bad name.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    } finally {
      target.close();
    }
  });

  it('fails with ESERVFAIL, not a hang, when no upstream answers', async () => {
    const dead = createSocket('udp4'); // bound and silent: queries time out
    await new Promise<void>((resolve) => dead.bind(0, '127.0.0.1', resolve));
    const state = new LiveState(snapshotOf({ network: [], dns_servers: ['127.0.0.1'] }));
    const resolver = new UpstreamResolver(state, { port: dead.address().port, timeoutMs: 200, totalTimeoutMs: 1000 });
    try {
      const started = Date.now();
      await expect(resolver.lookupAddresses('svc.test')).rejects.toMatchObject({ code: 'ESERVFAIL' });
      expect(Date.now() - started).toBeLessThan(1500);
      const err = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
        const c = connect({ host: 'svc.test', port: 9, lookup: resolver.lookup });
        c.on('error', resolve);
        c.on('connect', () => resolve(null));
      });
      expect(err?.code).toBe('ESERVFAIL');
      // A flood of distinct names against a silent upstream is capped, not queued without bound.
      const capped = new UpstreamResolver(state, { port: dead.address().port, timeoutMs: 300, totalTimeoutMs: 600, maxInflight: 2 });
      const t0 = Date.now();
      const third = capped.resolve('c.svc.test', 1);
      void capped.resolve('a.svc.test', 1);
      void capped.resolve('b.svc.test', 1);
      const fourth = await capped.resolve('d.svc.test', 1);
      expect(fourth.rcode).toBe(2);
      expect(fourth.error).toContain('in flight');
      expect(Date.now() - t0).toBeLessThan(100);
      expect((await third).error).toContain('no answer');
    } finally {
      dead.close();
    }
  });
});
