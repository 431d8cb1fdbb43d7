/**
 * Red team, DNS: an agent tries to resolve (or exfiltrate through lookups of) names the rules deny,
 * by every query form dig and hand-made packets allow, over UDP and TCP, to the tunnel resolver and
 * to resolvers of its choosing. The proof is at the upstream DNS servers: a denied name must cause
 * zero upstream queries. Also: CNAME chains from an allowed name to a denied one, floods, and
 * malformed packets (the daemon keeps answering).
 *
 * The upstream resolver here is attacks-upstream.mjs (CNAME chains; anything else it forwards to
 * the lab's own DNS server), reached at 10.201.0.53:53 through an nft redirect in the upstream
 * namespace. Both servers log every query they see.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, LAB_IP, labSkipReason, type Lab } from './lib/index.js';
import { daemonPid, dnsFlood, probe, probeAll, probeMany, probeUdp, rssKb, startEvilUpstream, type EvilUpstream } from './attacks-lib.js';

const skip = labSkipReason();
if (skip) console.warn(`skipping the DNS attacks lab test: ${skip}`);

const RESOLVER = '10.201.0.53';
const CNAME_TARGET_IP = '10.201.0.77';
const T4 = LAB_IP.tunnel4;

const SETTINGS = {
  dns_servers: [RESOLVER],
  network: [
    { action: 'allow', host: 'api.allowed.test' },
    { action: 'allow', host: 'alias.allowed.test' },
  ],
};

const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

function header(id: number, flags: number, qd: number, an = 0, ns = 0, ar = 0): Buffer {
  const b = Buffer.alloc(12);
  [id, flags, qd, an, ns, ar].forEach((v, i) => b.writeUInt16BE(v, i * 2));
  return b;
}
function name(labels: Array<string | Buffer>): Buffer {
  return Buffer.concat([...labels.flatMap((l) => { const b = Buffer.isBuffer(l) ? l : Buffer.from(l, 'latin1'); return [Buffer.from([b.length]), b]; }), Buffer.from([0])]);
}
function question(labels: Array<string | Buffer>, qtype = 1): Buffer {
  const t = Buffer.alloc(4);
  t.writeUInt16BE(qtype, 0);
  t.writeUInt16BE(1, 2);
  return Buffer.concat([name(labels), t]);
}
const API = ['api', 'allowed', 'test'];
const DENIED = ['denied', 'test'];
const RD = 0x0100;

describe.skipIf(skip)('red team: DNS', () => {
  let lab: Lab;
  let evil: EvilUpstream;
  /** Queries seen by both upstream DNS servers (ours forwards what it does not own to the lab's). */
  const upstreamQueries = () => [...lab.dnsQueries().map((q) => q.name), ...evil.events.filter((e) => e.kind === 'evil-dns').map((e) => String(e.name))];

  beforeAll(async () => {
    lab = await createLab({ tag: 'h8d', settings: SETTINGS });
    const dev = lab.iface.upstreamVeth;
    for (const a of [RESOLVER, CNAME_TARGET_IP]) await lab.exec('upstream', 'ip', ['addr', 'add', `${a}/24`, 'dev', dev]);
    const nft = `table ip h8dns {\n chain pre {\n  type nat hook prerouting priority dstnat;\n  ip daddr ${RESOLVER} udp dport 53 redirect to :5300\n  ip daddr ${RESOLVER} tcp dport 53 redirect to :5300\n }\n}\n`;
    const r = await lab.exec('upstream', 'nft', ['-f', '-'], { input: nft });
    if (r.code !== 0) throw new Error(`nft: ${r.stderr}`);
    evil = await startEvilUpstream(lab, { dnsPort: 5300, zone: { 'alias.allowed.test': { CNAME: 'target.denied.test' }, 'target.denied.test': { A: [CNAME_TARGET_IP] } } });
    // The resolver chain works for an allowed name (and this is the only query so far).
    expect((await lab.agentDig('api.allowed.test', 'A')).answers).toContain(LAB_IP.upstream4);
  }, 120_000);

  afterAll(async () => {
    await evil?.stop();
    await lab?.destroy();
  });

  it('denied names in every query form are REFUSED and cause zero upstream queries', async () => {
    const before = upstreamQueries().length;
    const long = `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(50)}.denied.test`;
    const forms: Array<[string, string, string[]]> = [
      ['denied.test', 'A', []],
      ['denied.test', 'AAAA', []],
      ['denied.test', 'TXT', []],
      ['denied.test', 'MX', []],
      ['denied.test', 'ANY', []],
      ['denied.test', 'CAA', []],
      ['denied.test', 'TYPE65', []],
      ['denied.test', 'A', ['+tcp']],
      ['denied.test', 'A', ['@8.8.8.8']],
      ['denied.test', 'A', ['+tcp', '@8.8.8.8']],
      ['denied.test', 'A', ['@2001:4860:4860::8888']],
      ['denied.test', 'A', ['+edns=1', '+nsid', '+cookie', '+bufsize=65000']],
      ['DENIED.TEST.', 'A', []],
      ['DeNiEd.TeSt', 'A', []],
      ['denied\\.test', 'A', []],
      ['denied\\046test', 'A', []],
      ['x.denied.test', 'A', []],
      ['api.allowed.test.denied.test', 'A', []],
      ['api\\.allowed.test', 'A', []],
      ['api.allowed\\000.test', 'A', []],
      ['denied.test.allowed.test', 'A', []],
      [long, 'TXT', []],
      ['10.0.201.10.in-addr.arpa', 'PTR', []],
    ];
    for (const [n, t, extra] of forms) {
      const r = await lab.agentDig(n, t, extra);
      expect(r.status, `${n} ${t} ${extra.join(' ')}`).toBe('REFUSED');
      expect(r.answers, n).toEqual([]);
    }
    expect(upstreamQueries().slice(before)).toEqual([]);
  });

  it('hand-made packets: several questions, pointer loops, bad labels, odd opcodes get an error or silence, never an upstream query', async () => {
    const before = upstreamQueries().length;
    const ptrLoop = Buffer.concat([header(1, RD, 1), Buffer.from([0xc0, 0x0c, 0, 1, 0, 1])]);
    const cases: Array<[string, Buffer, number | null]> = [
      ['allowed + denied questions', Buffer.concat([header(2, RD, 2), question(API), question(DENIED)]), RCODE.REFUSED],
      ['denied + allowed questions', Buffer.concat([header(3, RD, 2), question(DENIED), question(API)]), RCODE.REFUSED],
      ['no question', header(4, RD, 0), RCODE.FORMERR],
      ['a dot inside one label', Buffer.concat([header(5, RD, 1), question(['denied.test'])]), RCODE.REFUSED],
      ['NUL inside a label', Buffer.concat([header(6, RD, 1), question(['api', 'allowed', Buffer.from('test\0x', 'latin1')])]), RCODE.REFUSED],
      ['compression pointer loop', ptrLoop, RCODE.FORMERR],
      ['pointer past the end', Buffer.concat([header(7, RD, 1), Buffer.from([0xc0, 0xff, 0, 1, 0, 1])]), RCODE.FORMERR],
      ['label of 64 bytes', Buffer.concat([header(8, RD, 1), question(['a'.repeat(64), 'test'])]), RCODE.FORMERR],
      ['name over 255 bytes', Buffer.concat([header(9, RD, 1), question([...Array(4).fill('a'.repeat(63)), 'b'.repeat(40)])]), RCODE.FORMERR],
      ['truncated question', Buffer.concat([header(10, RD, 1), Buffer.from('\x03api', 'latin1')]), RCODE.FORMERR],
      ['NOTIFY opcode', Buffer.concat([header(11, 0x2100, 1), question(DENIED)]), RCODE.NOTIMP],
      ['UPDATE opcode, allowed name', Buffer.concat([header(12, 0x2800, 1), question(API)]), RCODE.NOTIMP],
      ['a response (QR set)', Buffer.concat([header(13, 0x8100, 1), question(DENIED)]), null],
      ['CHAOS class, allowed name', Buffer.concat([header(14, RD, 1), name(API), Buffer.from([0, 16, 0, 3])]), RCODE.REFUSED],
    ];
    for (const [what, pkt, rcode] of cases) {
      const udp = await probeUdp(lab, T4, 53, pkt.toString('hex'));
      if (rcode === null) expect(udp.answer, what).toBeNull();
      else expect(udp.answer ? Number.parseInt(udp.answer.slice(6, 8), 16) & 15 : null, `${what} (udp)`).toBe(rcode);
    }
    // The same over TCP (length-prefixed), one connection per packet.
    const tcp = await probeAll(
      lab,
      cases.map(([, pkt]) => ({ host: T4, port: 53, send: [{ hex: Buffer.concat([Buffer.from([pkt.length >> 8, pkt.length & 0xff]), pkt]).toString('hex') }], read_until_close: false, read_timeout: 2 })),
    );
    tcp.forEach((r, i) => {
      const [what, , rcode] = cases[i]!;
      if (rcode === null) expect(r.data, what).toBe('');
      else expect(r.data.length > 5 ? r.data.charCodeAt(5) & 15 : null, `${what} (tcp)`).toBe(rcode);
    });
    // Unreadable bytes: no answer or an error, and the server keeps serving.
    for (const junk of [Buffer.alloc(0), Buffer.alloc(3, 0xff), Buffer.from(Array.from({ length: 512 }, (_, i) => i & 0xff))]) {
      const r = await probeUdp(lab, T4, 53, junk.toString('hex') || '00');
      if (r.answer) expect(Number.parseInt(r.answer.slice(6, 8), 16) & 15).not.toBe(RCODE.NOERROR);
    }
    expect(upstreamQueries().slice(before)).toEqual([]);
    expect((await lab.agentDig('api.allowed.test', 'A')).status).toBe('NOERROR');
  });

  it('a CNAME from an allowed name to a denied one: the answer resolves, but no request may name the target', async () => {
    const r = await lab.agentDig('alias.allowed.test', 'A');
    expect(r.status).toBe('NOERROR');
    // Documented behaviour: CNAME targets are not matched against the rules (the allowed name's
    // owner chooses where it points); the agent sees the chain.
    expect(r.stdout).toMatch(/CNAME\s+target\.denied\.test\./);
    expect(r.answers).toContain(CNAME_TARGET_IP);
    // The target itself stays denied, with no upstream query for it.
    const seen = upstreamQueries().length;
    expect((await lab.agentDig('target.denied.test', 'A')).status).toBe('REFUSED');
    expect(upstreamQueries().slice(seen)).toEqual([]);
    // Naming the target in SNI or Host is denied, whatever address it connects to.
    lab.clearUpstreamLog();
    const viaSni = await lab.agentCurl(['--http1.1', '-o', '/dev/null', '--resolve', `target.denied.test:443:${CNAME_TARGET_IP}`, 'https://target.denied.test/']);
    expect(viaSni.status).toBe(403);
    const viaHost = await lab.agentCurl(['--http1.1', '-o', '/dev/null', '-H', 'Host: target.denied.test', 'https://alias.allowed.test/']);
    expect(viaHost.status).toBe(403);
    expect(lab.upstreamRequests()).toHaveLength(0);
    // Raw TCP to the target's address is attributed to the allowed alias (documented).
    const tcp = await probe(lab, { host: CNAME_TARGET_IP, port: 7777, send: ['ping\n'], read_until_close: false });
    expect(tcp.data).toBe('ping\n');
    // Logged when the relay closes, just after the client hung up: wait for the line.
    const line = await lab.waitForLog((l) => l.proto === 'tcp' && l.port === 7777, 5_000);
    expect(line.host).toBe('alias.allowed.test');
  });

  it('a flood of random denied subdomains is all REFUSED, reaches no upstream, and does not grow the daemon', async () => {
    const before = upstreamQueries().length;
    const pid = daemonPid(lab);
    const rss0 = rssKb(pid);
    const flood = await dnsFlood(lab, { host: T4, names: ['x{i}.denied.test', 'exfil-{i}-c2VjcmV0.denied.test', 'y{i}.api.allowed.test'], count: 3000, qtype: 16, window: 100, read_timeout: 1 });
    expect(flood.sent).toBe(3000);
    expect(flood.answered).toBeGreaterThan(2900); // UDP, 100 in flight: a rare drop is not a failure; a NOERROR is
    expect(Object.keys(flood.rcodes)).toEqual(['5']);
    expect(upstreamQueries().slice(before)).toEqual([]);
    expect(rssKb(pid) - rss0).toBeLessThan(50 * 1024);
    expect((await lab.agentDig('api.allowed.test', 'A')).status).toBe('NOERROR');
  });

  it('DNS over TCP: 500 connections announcing 64 KiB and sending nothing do not block a lookup', async () => {
    const held = probeMany(lab, { host: T4, port: 53, many: 500, send: [{ hex: 'ffff0001' }], hold: 5 });
    await new Promise((r) => setTimeout(r, 3000));
    expect((await lab.agentDig('api.allowed.test', 'A', ['+tcp'])).status).toBe('NOERROR');
    expect((await lab.agentDig('denied.test', 'A', ['+tcp'])).status).toBe('REFUSED');
    expect((await held).opened).toBe(500);
  });
});
