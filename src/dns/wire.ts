/**
 * DNS wire format on the hot path, sans IO. Queries are parsed by hand (header, one question, the
 * EDNS OPT record) and error responses are built by copying the query's question, so a denied or
 * cached lookup costs a few small buffer operations and no general-purpose decode. Anything richer
 * (building test servers, decoding for humans) uses `dns-packet`. RFC 1035 §4, RFC 6891 (EDNS).
 */
import { formatIPv4Bytes, formatIPv6Bytes } from './ip.js';

export const QTYPE = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33, OPT: 41, IXFR: 251, AXFR: 252, ANY: 255 } as const;
export const QCLASS_IN = 1;
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

const RCODE_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];
const TYPE_NAMES = new Map<number, string>([
  ...Object.entries(QTYPE).map(([k, v]) => [v, k] as [number, string]),
  [99, 'SPF'],
  [43, 'DS'],
  [48, 'DNSKEY'],
  [46, 'RRSIG'],
  [64, 'SVCB'],
  [65, 'HTTPS'],
  [257, 'CAA'],
]);

export function rcodeName(rcode: number): string {
  return RCODE_NAMES[rcode] ?? `RCODE${rcode}`;
}

export function typeName(qtype: number): string {
  return TYPE_NAMES.get(qtype) ?? `TYPE${qtype}`;
}

const FLAG_QR = 0x8000;
const FLAG_TC = 0x0200;
const FLAG_RD = 0x0100;
const FLAG_RA = 0x0080;
const FLAG_CD = 0x0010;

/** The largest UDP answer we send, whatever the client advertises (RFC 6891 §6.2.5; DNS flag day 2020). */
export const MAX_UDP_ANSWER = 1232;
/** Without EDNS a UDP answer may not exceed 512 bytes (RFC 1035 §4.2.1). */
export const CLASSIC_UDP_SIZE = 512;
/** Our OPT pseudo-record: root name, type 41, class = payload size, TTL 0, no options. */
const OPT_LENGTH = 11;

export interface ParsedQuery {
  id: number;
  flags: number;
  /** Lower case, no trailing dot, `''` for the root. Only letters, digits, `-` and `_`. */
  name: string;
  qtype: number;
  qclass: number;
  /** Offset just past the question; bytes 12..questionEnd are the question, echoed in answers. */
  questionEnd: number;
  /** The client's EDNS payload size, 0 when it sent no OPT record. */
  udpSize: number;
}

/** Why a query could not be served. `drop` means not even a header we could answer. */
export type QueryProblem =
  | { kind: 'drop'; reason: string }
  | { kind: 'reply'; reason: string; rcode: number; query: ParsedQuery | null; id: number; flags: number };

export type ParseOutcome = { ok: true; query: ParsedQuery } | ({ ok: false } & QueryProblem);

function nameByteAllowed(c: number): boolean {
  // letters, digits, '-', '_'. Anything else (notably '.' inside a label, or binary) would let the
  // name we decide on differ from the name sent upstream, so such names are refused.
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f;
}

/**
 * Parse a query. Problems are classified so the caller can answer what can be answered:
 * no header → drop; a response or an unknown opcode → drop / NOTIMP; not exactly one question →
 * FORMERR (zero) or REFUSED (several); a compressed or oversized name → FORMERR; a name with
 * characters outside `[A-Za-z0-9_-]` → REFUSED.
 */
export function parseQuery(buf: Buffer): ParseOutcome {
  if (buf.length < 12) return { ok: false, kind: 'drop', reason: 'shorter than a DNS header' };
  const id = buf.readUInt16BE(0);
  const flags = buf.readUInt16BE(2);
  if (flags & FLAG_QR) return { ok: false, kind: 'drop', reason: 'a response, not a query' };
  const opcode = (flags >> 11) & 0xf;
  if (opcode !== 0) return { ok: false, kind: 'reply', reason: `opcode ${opcode}`, rcode: RCODE.NOTIMP, query: null, id, flags };
  const qdcount = buf.readUInt16BE(4);
  if (qdcount === 0) return { ok: false, kind: 'reply', reason: 'no question', rcode: RCODE.FORMERR, query: null, id, flags };
  if (qdcount > 1) return { ok: false, kind: 'reply', reason: `${qdcount} questions`, rcode: RCODE.REFUSED, query: null, id, flags };

  let off = 12;
  let name = '';
  let badChar = false;
  for (;;) {
    if (off >= buf.length) return { ok: false, kind: 'reply', reason: 'question name runs past the packet', rcode: RCODE.FORMERR, query: null, id, flags };
    const len = buf[off]!;
    if (len === 0) {
      off++;
      break;
    }
    if (len & 0xc0) return { ok: false, kind: 'reply', reason: 'compressed or extended label in the question', rcode: RCODE.FORMERR, query: null, id, flags };
    const end = off + 1 + len;
    if (end > buf.length) return { ok: false, kind: 'reply', reason: 'question name runs past the packet', rcode: RCODE.FORMERR, query: null, id, flags };
    for (let i = off + 1; i < end; i++) if (!nameByteAllowed(buf[i]!)) badChar = true;
    name = name === '' ? buf.toString('latin1', off + 1, end) : `${name}.${buf.toString('latin1', off + 1, end)}`;
    off = end;
    if (off - 12 > 255) return { ok: false, kind: 'reply', reason: 'question name longer than 255 bytes', rcode: RCODE.FORMERR, query: null, id, flags };
  }
  if (off + 4 > buf.length) return { ok: false, kind: 'reply', reason: 'question cut short', rcode: RCODE.FORMERR, query: null, id, flags };
  const qtype = buf.readUInt16BE(off);
  const qclass = buf.readUInt16BE(off + 2);
  const questionEnd = off + 4;
  const query: ParsedQuery = { id, flags, name: name.toLowerCase(), qtype, qclass, questionEnd, udpSize: findEdnsSize(buf, questionEnd) };
  if (badChar) return { ok: false, kind: 'reply', reason: 'name has characters outside [A-Za-z0-9_-]', rcode: RCODE.REFUSED, query, id, flags };
  return { ok: true, query };
}

/** The OPT record's payload size, if the query carries one in its additional section. */
function findEdnsSize(buf: Buffer, off: number): number {
  const an = buf.readUInt16BE(6);
  const ns = buf.readUInt16BE(8);
  const ar = buf.readUInt16BE(10);
  if (ar === 0) return 0;
  try {
    let p = off;
    for (let i = 0; i < an + ns + ar; i++) {
      p = skipName(buf, p);
      if (p + 10 > buf.length) return 0;
      const type = buf.readUInt16BE(p);
      if (i >= an + ns && type === QTYPE.OPT) return Math.max(CLASSIC_UDP_SIZE, buf.readUInt16BE(p + 2));
      p += 10 + buf.readUInt16BE(p + 8);
    }
  } catch {
    // a broken additional section only costs the client its EDNS size
  }
  return 0;
}

/** Offset just past a (possibly compressed) name. Throws on a name that runs off the buffer. */
export function skipName(buf: Buffer, off: number): number {
  for (;;) {
    if (off >= buf.length) throw new RangeError('name runs past the packet');
    const len = buf[off]!;
    if (len === 0) return off + 1;
    if ((len & 0xc0) === 0xc0) {
      if (off + 2 > buf.length) throw new RangeError('pointer runs past the packet');
      return off + 2;
    }
    if (len & 0xc0) throw new RangeError('unknown label type');
    off += 1 + len;
  }
}

function writeOpt(out: Buffer, off: number): void {
  out[off] = 0;
  out.writeUInt16BE(QTYPE.OPT, off + 1);
  out.writeUInt16BE(MAX_UDP_ANSWER, off + 3);
  out.writeUInt32BE(0, off + 5);
  out.writeUInt16BE(0, off + 9);
}

function responseFlags(queryFlags: number, rcode: number): number {
  return FLAG_QR | (queryFlags & (FLAG_RD | FLAG_CD)) | FLAG_RA | (rcode & 0xf);
}

/**
 * An answer with no records: the query's header and question echoed, QR/RA set, the given rcode,
 * and an OPT record when the client used EDNS. Used for REFUSED, NOTIMP, SERVFAIL, FORMERR.
 */
export function buildEmptyResponse(queryBuf: Buffer, q: ParsedQuery, rcode: number, truncated = false): Buffer {
  const edns = q.udpSize > 0;
  const out = Buffer.allocUnsafe(q.questionEnd + (edns ? OPT_LENGTH : 0));
  queryBuf.copy(out, 0, 0, q.questionEnd);
  out.writeUInt16BE(responseFlags(q.flags, rcode) | (truncated ? FLAG_TC : 0), 2);
  out.writeUInt16BE(1, 4);
  out.writeUInt32BE(0, 6); // ANCOUNT, NSCOUNT
  out.writeUInt16BE(edns ? 1 : 0, 10);
  if (edns) writeOpt(out, q.questionEnd);
  return out;
}

/** A bare header for queries whose question we could not read. */
export function buildHeaderOnlyResponse(id: number, flags: number, rcode: number): Buffer {
  const out = Buffer.alloc(12);
  out.writeUInt16BE(id, 0);
  out.writeUInt16BE(responseFlags(flags, rcode), 2);
  return out;
}

/**
 * An upstream (or local) answer kept in canonical form: header + question + answer + authority
 * sections, additional section dropped (stub clients do not need glue, and the upstream's OPT
 * record must not reach a client that did not use EDNS). TTLs are decremented on the way out.
 */
export interface DnsAnswer {
  /** Canonical wire bytes; ID and flags are rewritten per client. Never mutated after creation. */
  wire: Buffer;
  rcode: number;
  /** Offsets of every TTL field in `wire`, for the per-client decrement. */
  ttlOffsets: readonly number[];
  /** When the answer was received (ms, Date.now()). */
  receivedAt: number;
  /** How long the answer may be cached (s); 0 = not cacheable. */
  cacheTtl: number;
  /** A/AAAA addresses for the question's type, in canonical text form, answer section only. */
  addresses: readonly string[];
  /** Lowest TTL along the answer chain (CNAMEs and addresses), seconds. */
  addressTtl: number;
  /** Why the resolver could not produce an upstream answer (SERVFAIL), for the log line. */
  error?: string;
}

export interface AnalyzeOptions {
  /** Cap for the positive cache lifetime (s). */
  maxCacheTtl: number;
  /** Cap for the negative cache lifetime (s), RFC 2308. */
  maxNegativeTtl: number;
}

/**
 * Turn a validated upstream response into a `DnsAnswer`: find the TTL fields, the addresses of
 * the asked type, and how long the whole thing may be cached (RFC 2308 for NXDOMAIN/NODATA).
 * Throws RangeError on a malformed response.
 */
export function analyzeResponse(buf: Buffer, qtype: number, now: number, opts: AnalyzeOptions): DnsAnswer {
  buf = Buffer.from(buf); // own copy: TTLs are normalised in place, the socket's buffer is not kept
  const flags = buf.readUInt16BE(2);
  const rcode = flags & 0xf;
  const qd = buf.readUInt16BE(4);
  const an = buf.readUInt16BE(6);
  const ns = buf.readUInt16BE(8);
  let p = 12;
  for (let i = 0; i < qd; i++) p = skipName(buf, p) + 4;
  const ttlOffsets: number[] = [];
  const addresses: string[] = [];
  let minAnswerTtl = Infinity;
  let negativeTtl = -1;
  for (let i = 0; i < an + ns; i++) {
    p = skipName(buf, p);
    if (p + 10 > buf.length) throw new RangeError('record header runs past the packet');
    const type = buf.readUInt16BE(p);
    const klass = buf.readUInt16BE(p + 2);
    let ttl = buf.readUInt32BE(p + 4);
    if (ttl > 0x7fffffff) {
      ttl = 0; // RFC 2181 §8: a TTL with the top bit set is read as zero
      buf.writeUInt32BE(0, p + 4);
    }
    const rdlen = buf.readUInt16BE(p + 8);
    const rdata = p + 10;
    if (rdata + rdlen > buf.length) throw new RangeError('record data runs past the packet');
    ttlOffsets.push(p + 4);
    if (i < an) {
      if (ttl < minAnswerTtl) minAnswerTtl = ttl;
      if (klass === QCLASS_IN && type === qtype) {
        if (type === QTYPE.A && rdlen === 4) addresses.push(formatIPv4Bytes(buf, rdata));
        else if (type === QTYPE.AAAA && rdlen === 16) addresses.push(formatIPv6Bytes(buf, rdata));
      }
    } else if (type === QTYPE.SOA && rdlen >= 22) {
      const minimum = buf.readUInt32BE(rdata + rdlen - 4);
      negativeTtl = Math.min(ttl, minimum);
    }
    p = rdata + rdlen;
  }
  const wire = buf.subarray(0, p); // drops the additional section
  wire.writeUInt16BE(0, 0);
  wire.writeUInt16BE(0, 10);
  let cacheTtl = 0;
  if (rcode === RCODE.NOERROR && an > 0) cacheTtl = Math.min(minAnswerTtl, opts.maxCacheTtl);
  else if ((rcode === RCODE.NXDOMAIN || rcode === RCODE.NOERROR) && negativeTtl >= 0) cacheTtl = Math.min(negativeTtl, opts.maxNegativeTtl);
  return {
    wire,
    rcode,
    ttlOffsets,
    receivedAt: now,
    cacheTtl,
    addresses,
    addressTtl: an > 0 ? minAnswerTtl : 0,
  };
}

/**
 * The client's copy of an answer: its ID, its question bytes (same length, maybe other letter
 * case: 0x20 randomisation), TTLs lowered by the time spent in the cache, an OPT record when the
 * client used EDNS, and TC with no records when it does not fit `maxSize`.
 */
export function renderAnswer(answer: DnsAnswer, queryBuf: Buffer, q: ParsedQuery, now: number, maxSize: number): Buffer {
  const edns = q.udpSize > 0;
  const len = answer.wire.length + (edns ? OPT_LENGTH : 0);
  if (len > maxSize) return buildEmptyResponse(queryBuf, q, answer.rcode, true);
  const out = Buffer.allocUnsafe(len);
  answer.wire.copy(out, 0);
  out.writeUInt16BE(q.id, 0);
  out.writeUInt16BE(responseFlags(q.flags, answer.rcode), 2);
  if (answer.wire.readUInt16BE(4) === 1 && skipNameSafe(answer.wire, 12) === q.questionEnd - 4) {
    queryBuf.copy(out, 12, 12, q.questionEnd);
  }
  const elapsed = Math.floor((now - answer.receivedAt) / 1000);
  if (elapsed > 0) {
    for (const o of answer.ttlOffsets) {
      const ttl = out.readUInt32BE(o);
      out.writeUInt32BE(ttl > elapsed ? ttl - elapsed : 0, o);
    }
  }
  if (edns) {
    writeOpt(out, answer.wire.length);
    out.writeUInt16BE(1, 10);
  }
  return out;
}

function skipNameSafe(buf: Buffer, off: number): number {
  try {
    return skipName(buf, off);
  } catch {
    return -1;
  }
}

/** Wire form of a validated name (letters, digits, '-', '_', dots). Throws RangeError otherwise. */
export function encodeName(name: string): Buffer {
  if (name === '') return Buffer.from([0]);
  const labels = name.split('.');
  const out = Buffer.allocUnsafe(name.length + 2);
  let p = 0;
  for (const label of labels) {
    if (label.length === 0 || label.length > 63) throw new RangeError(`bad label in ${JSON.stringify(name)}`);
    out[p++] = label.length;
    for (let i = 0; i < label.length; i++) {
      const c = label.charCodeAt(i);
      if (!nameByteAllowed(c)) throw new RangeError(`bad character in ${JSON.stringify(name)}`);
      out[p++] = c;
    }
  }
  out[p++] = 0;
  if (p > 255) throw new RangeError('name longer than 255 bytes');
  return out.subarray(0, p);
}

/** A recursive query for the upstream: RD set, one question, an OPT record advertising 1232 bytes. */
export function buildQuery(id: number, nameWire: Buffer, qtype: number): Buffer {
  const out = Buffer.allocUnsafe(12 + nameWire.length + 4 + OPT_LENGTH);
  const end = writeHeaderAndQuestion(out, { id, flags: FLAG_RD, answers: 0, additional: 1 }, nameWire, qtype);
  writeOpt(out, end);
  return out;
}

/**
 * A header for one question (no authority records) and that question (name, type, class IN),
 * from offset 0. Returns the offset where the question ends.
 */
function writeHeaderAndQuestion(
  out: Buffer,
  header: { id: number; flags: number; answers: number; additional: number },
  nameWire: Buffer,
  qtype: number,
): number {
  out.writeUInt16BE(header.id, 0);
  out.writeUInt16BE(header.flags, 2);
  out.writeUInt16BE(1, 4); // QDCOUNT
  out.writeUInt16BE(header.answers, 6);
  out.writeUInt16BE(0, 8); // NSCOUNT
  out.writeUInt16BE(header.additional, 10);
  nameWire.copy(out, 12);
  const p = 12 + nameWire.length;
  out.writeUInt16BE(qtype, p);
  out.writeUInt16BE(QCLASS_IN, p + 2);
  return p + 4;
}

/**
 * Is `resp` the answer to our query? Same ID, QR set, opcode 0, and the same question (name
 * compared case-insensitively, type, class). Guards against stray and spoofed datagrams.
 */
export function matchesQuery(resp: Buffer, id: number, nameWire: Buffer, qtype: number): boolean {
  if (resp.length < 12 + nameWire.length + 4) return false;
  if (resp.readUInt16BE(0) !== id) return false;
  const flags = resp.readUInt16BE(2);
  if (!(flags & FLAG_QR) || ((flags >> 11) & 0xf) !== 0) return false;
  if (resp.readUInt16BE(4) !== 1) return false;
  for (let i = 0; i < nameWire.length; i++) {
    let a = resp[12 + i]!;
    let b = nameWire[i]!;
    if (a >= 0x41 && a <= 0x5a) a += 32;
    if (b >= 0x41 && b <= 0x5a) b += 32;
    if (a !== b) return false;
  }
  const p = 12 + nameWire.length;
  return resp.readUInt16BE(p) === qtype && resp.readUInt16BE(p + 2) === QCLASS_IN;
}

export function isTruncated(resp: Buffer): boolean {
  return (resp.readUInt16BE(2) & FLAG_TC) !== 0;
}

/** A synthetic answer with no records (SERVFAIL on upstream failure, NODATA for extra_hosts). */
export function syntheticEmptyAnswer(nameWire: Buffer, qtype: number, rcode: number, now: number, error?: string): DnsAnswer {
  const wire = Buffer.allocUnsafe(12 + nameWire.length + 4);
  // ID 0, flags carry only the rcode; both are rewritten per client.
  writeHeaderAndQuestion(wire, { id: 0, flags: rcode & 0xf, answers: 0, additional: 0 }, nameWire, qtype);
  return { wire, rcode, ttlOffsets: [], receivedAt: now, cacheTtl: 0, addresses: [], addressTtl: 0, error };
}

/** A local answer with one A or AAAA record (extra_hosts). */
export function syntheticAddressAnswer(nameWire: Buffer, qtype: number, rdata: Buffer, address: string, ttl: number, now: number): DnsAnswer {
  const wire = Buffer.allocUnsafe(12 + nameWire.length + 4 + 2 + 10 + rdata.length);
  const q = writeHeaderAndQuestion(wire, { id: 0, flags: 0, answers: 1, additional: 0 }, nameWire, qtype);
  wire.writeUInt16BE(0xc00c, q); // pointer to the question name
  wire.writeUInt16BE(qtype, q + 2);
  wire.writeUInt16BE(QCLASS_IN, q + 4);
  wire.writeUInt32BE(ttl, q + 6);
  wire.writeUInt16BE(rdata.length, q + 10);
  rdata.copy(wire, q + 12);
  return { wire, rcode: RCODE.NOERROR, ttlOffsets: [q + 6], receivedAt: now, cacheTtl: 0, addresses: [address], addressTtl: ttl };
}
