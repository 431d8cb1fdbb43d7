import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { canonicalIp, ipToBytes } from '../../src/dns/ip.js';
import { parseResolvConf, parseServer } from '../../src/dns/servers.js';
import {
  analyzeResponse,
  buildEmptyResponse,
  buildQuery,
  encodeName,
  matchesQuery,
  parseQuery,
  QTYPE,
  RCODE,
  renderAnswer,
  type ParsedQuery,
} from '../../src/dns/wire.js';

const OPTS = { maxCacheTtl: 3600, maxNegativeTtl: 300 };

function query(name: string, type: dnsPacket.RecordType = 'A', extra: Partial<dnsPacket.Packet> = {}): Buffer {
  return dnsPacket.encode({ id: 4242, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type, class: 'IN' }], ...extra });
}

function parsed(buf: Buffer): ParsedQuery {
  const r = parseQuery(buf);
  if (!r.ok) throw new Error(`did not parse: ${r.reason}`);
  return r.query;
}

describe('parseQuery', () => {
  it('reads the name lower-cased without the trailing dot, the type and the question end', () => {
    const buf = query('WWW.Example.COM.', 'AAAA');
    const q = parsed(buf);
    expect(q).toMatchObject({ id: 4242, name: 'www.example.com', qtype: QTYPE.AAAA, qclass: 1, questionEnd: buf.length, udpSize: 0 });
  });

  it('reads the EDNS payload size from an OPT record', () => {
    const buf = query('a.test', 'A', { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096 } as dnsPacket.Answer] });
    expect(parsed(buf).udpSize).toBe(4096);
  });

  const problems: [label: string, buf: Buffer, expected: object][] = [
    ['empty datagram', Buffer.alloc(0), { kind: 'drop' }],
    ['a response', dnsPacket.encode({ id: 1, type: 'response', questions: [{ name: 'a.test', type: 'A' }] }), { kind: 'drop' }],
    ['opcode STATUS', Buffer.from('000110000001000000000000', 'hex'), { kind: 'reply', rcode: RCODE.NOTIMP }],
    ['no question', Buffer.from('000101000000000000000000', 'hex'), { kind: 'reply', rcode: RCODE.FORMERR }],
    ['two questions', dnsPacket.encode({ id: 1, type: 'query', questions: [{ name: 'a.test', type: 'A' }, { name: 'b.test', type: 'A' }] }), { kind: 'reply', rcode: RCODE.REFUSED }],
    ['name cut short', Buffer.from('0001010000010000000000000561626364', 'hex'), { kind: 'reply', rcode: RCODE.FORMERR }],
    ['compressed question name', Buffer.from('000101000001000000000000c00c00010001', 'hex'), { kind: 'reply', rcode: RCODE.FORMERR }],
    ['type/class missing', Buffer.from('00010100000100000000000001610000', 'hex'), { kind: 'reply', rcode: RCODE.FORMERR }],
    ['dot inside a label', Buffer.concat([Buffer.from('000101000001000000000000', 'hex'), Buffer.from([3]), Buffer.from('a.b'), Buffer.from([4]), Buffer.from('test'), Buffer.from([0, 0, 1, 0, 1])]), { kind: 'reply', rcode: RCODE.REFUSED }],
    ['binary in a label', Buffer.concat([Buffer.from('000101000001000000000000', 'hex'), Buffer.from([2, 0, 0xff, 0, 0, 1, 0, 1])]), { kind: 'reply', rcode: RCODE.REFUSED }],
  ];
  it.each(problems)('classifies: %s', (_label, buf, expected) => {
    const r = parseQuery(buf);
    expect(r.ok).toBe(false);
    expect(r).toMatchObject(expected);
  });
});

describe('responses', () => {
  it('REFUSED echoes the ID, the question and RD, sets QR and RA, and adds OPT for an EDNS client', () => {
    const buf = query('denied.test', 'A', { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232 } as dnsPacket.Answer] });
    const resp = dnsPacket.decode(buildEmptyResponse(buf, parsed(buf), RCODE.REFUSED)) as dnsPacket.Packet & { rcode: string };
    expect(resp).toMatchObject({ id: 4242, type: 'response', rcode: 'REFUSED', flag_rd: true, flag_ra: true, answers: [] });
    expect(resp.questions).toEqual([{ name: 'denied.test', type: 'A', class: 'IN' }]);
    expect(resp.additionals!.map((a) => a.type)).toEqual(['OPT']);
  });

  function upstreamAnswer(ttl: number) {
    return dnsPacket.encode({
      id: 9,
      type: 'response',
      flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
      questions: [{ name: 'www.example.test', type: 'A', class: 'IN' }],
      answers: [
        { type: 'CNAME', name: 'www.example.test', ttl: ttl * 2, data: 'edge.example.net' },
        { type: 'A', name: 'edge.example.net', ttl, data: '192.0.2.1' },
        { type: 'A', name: 'edge.example.net', ttl, data: '192.0.2.2' },
      ],
      additionals: [{ type: 'A', name: 'glue.example.net', ttl: 5, data: '192.0.2.200' }],
    });
  }

  it('analyzes an answer: addresses of the asked type, the chain’s lowest TTL, additional section dropped', () => {
    const a = analyzeResponse(upstreamAnswer(60), QTYPE.A, 1_000, OPTS);
    expect(a.addresses).toEqual(['192.0.2.1', '192.0.2.2']);
    expect(a.addressTtl).toBe(60);
    expect(a.cacheTtl).toBe(60);
    expect(a.ttlOffsets).toHaveLength(3);
    expect(dnsPacket.decode(a.wire).additionals).toEqual([]);
  });

  it('renders for a client: its ID and question spelling, TTLs lowered by the time cached', () => {
    const a = analyzeResponse(upstreamAnswer(60), QTYPE.A, 1_000, OPTS);
    const clientQuery = query('WWW.example.TEST', 'A');
    const out = dnsPacket.decode(renderAnswer(a, clientQuery, parsed(clientQuery), 1_000 + 25_400, 512));
    expect(out.id).toBe(4242);
    expect(out.questions![0]!.name).toBe('WWW.example.TEST');
    expect(out.answers!.map((x) => x.ttl)).toEqual([95, 35, 35]);
    const late = dnsPacket.decode(renderAnswer(a, clientQuery, parsed(clientQuery), 1_000 + 500_000, 512));
    expect(late.answers!.map((x) => x.ttl)).toEqual([0, 0, 0]);
    expect(a.wire.readUInt32BE(a.ttlOffsets[1]!)).toBe(60); // the cached copy is untouched
  });

  it('sets TC with no records when the answer does not fit the client', () => {
    const a = analyzeResponse(upstreamAnswer(60), QTYPE.A, 0, OPTS);
    const q = query('www.example.test');
    const out = dnsPacket.decode(renderAnswer(a, q, parsed(q), 0, 40));
    expect(out.flag_tc).toBe(true);
    expect(out.answers).toEqual([]);
  });

  it('caches NXDOMAIN for the SOA negative TTL (RFC 2308), capped', () => {
    const nx = dnsPacket.encode({
      id: 1,
      type: 'response',
      flags: 3,
      questions: [{ name: 'no.example.test', type: 'A' }],
      authorities: [{ type: 'SOA', name: 'example.test', ttl: 900, data: { mname: 'ns', rname: 'root', serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 600 } }],
    } as dnsPacket.Packet);
    const a = analyzeResponse(nx, QTYPE.A, 0, OPTS);
    expect(a.rcode).toBe(RCODE.NXDOMAIN);
    expect(a.cacheTtl).toBe(300);
    expect(a.addresses).toEqual([]);
  });

  it('reads a TTL with the top bit set as zero (RFC 2181 §8) and does not cache it', () => {
    const buf = upstreamAnswer(60);
    const a0 = analyzeResponse(buf, QTYPE.A, 0, OPTS);
    buf.writeUInt32BE(0x80000000, a0.ttlOffsets[1]!);
    const a = analyzeResponse(buf, QTYPE.A, 0, OPTS);
    expect(a.cacheTtl).toBe(0);
    expect(a.wire.readUInt32BE(a.ttlOffsets[1]!)).toBe(0);
  });

  it('rejects a truncated upstream packet', () => {
    expect(() => analyzeResponse(upstreamAnswer(60).subarray(0, 50), QTYPE.A, 0, OPTS)).toThrow(RangeError);
  });

  it('builds upstream queries and matches only their own answers', () => {
    const name = encodeName('api.example.test');
    const q = buildQuery(77, name, QTYPE.AAAA);
    const decoded = dnsPacket.decode(q);
    expect(decoded.questions).toEqual([{ name: 'api.example.test', type: 'AAAA', class: 'IN' }]);
    expect(decoded.flag_rd).toBe(true);
    const good = dnsPacket.encode({ id: 77, type: 'response', questions: [{ name: 'API.example.test', type: 'AAAA' }] });
    const wrongId = dnsPacket.encode({ id: 78, type: 'response', questions: [{ name: 'api.example.test', type: 'AAAA' }] });
    const wrongName = dnsPacket.encode({ id: 77, type: 'response', questions: [{ name: 'evil.example.test', type: 'AAAA' }] });
    const wrongType = dnsPacket.encode({ id: 77, type: 'response', questions: [{ name: 'api.example.test', type: 'A' }] });
    expect(matchesQuery(good, 77, name, QTYPE.AAAA)).toBe(true);
    expect(matchesQuery(wrongId, 77, name, QTYPE.AAAA)).toBe(false);
    expect(matchesQuery(wrongName, 77, name, QTYPE.AAAA)).toBe(false);
    expect(matchesQuery(wrongType, 77, name, QTYPE.AAAA)).toBe(false);
    expect(matchesQuery(q, 77, name, QTYPE.AAAA)).toBe(false); // a query is not an answer
  });

  it.each(['a..b', 'x'.repeat(64) + '.test', 'a b.test', 'a/b.test'])('encodeName refuses %j', (n) => {
    expect(() => encodeName(n)).toThrow(RangeError);
  });
});

describe('addresses', () => {
  const cases: [input: string, canonical: string][] = [
    ['10.77.0.2', '10.77.0.2'],
    ['::ffff:10.77.0.2', '10.77.0.2'],
    ['::FFFF:10.77.0.2', '10.77.0.2'],
    ['::ffff:a4d:2', '10.77.0.2'],
    ['2001:0DB8:0000:0000:0000:0000:0000:0010', '2001:db8::10'],
    ['fd00:77:0:0:0:0:0:2', 'fd00:77::2'],
    ['2001:db8:0:1:0:0:0:1', '2001:db8:0:1::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'],
    ['::', '::'],
    ['::1', '::1'],
    ['fe80::1%eth0', 'fe80::1'],
    ['64:ff9b::192.0.2.1', '64:ff9b::c000:201'],
  ];
  it.each(cases)('canonicalIp(%s) = %s', (input, canonical) => {
    expect(canonicalIp(input)).toBe(canonical);
  });

  it('ipToBytes', () => {
    expect([...ipToBytes('192.0.2.1')!]).toEqual([192, 0, 2, 1]);
    expect(ipToBytes('2001:db8::1')!.toString('hex')).toBe('20010db8000000000000000000000001');
    expect(ipToBytes('nope')).toBeNull();
  });

  const servers: [text: string, expected: object | null][] = [
    ['1.1.1.1', { host: '1.1.1.1', port: 53, family: 4 }],
    ['1.1.1.1:5300', { host: '1.1.1.1', port: 5300, family: 4 }],
    ['2606:4700::1111', { host: '2606:4700::1111', port: 53, family: 6 }],
    ['[::1]:5300', { host: '::1', port: 5300, family: 6 }],
    ['fe80::1%eth0', { host: 'fe80::1%eth0', port: 53, family: 6 }],
    ['dns.google', null],
    ['1.1.1.1:99999', null],
  ];
  it.each(servers)('parseServer(%s)', (text, expected) => {
    expect(parseServer(text)).toEqual(expected);
  });

  it('parseResolvConf keeps nameserver lines in order', () => {
    expect(parseResolvConf('# c\nsearch x\nnameserver 127.0.0.11\n  nameserver ::1\noptions ndots:0\n')).toEqual(['127.0.0.11', '::1']);
  });
});
