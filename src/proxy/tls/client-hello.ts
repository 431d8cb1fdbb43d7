/**
 * A small, allocation-light TLS ClientHello parser: just enough to read SNI and ALPN before we
 * decide what to do with a connection (RFC 8446 §4.1.2, RFC 6066 §3, RFC 7301 §3.1).
 * Pure: bytes in, result out. The handshake message may span several TLS records.
 */

export interface ClientHello {
  /** server_name (host_name type), lower-cased; undefined when the client sent none. */
  sni: string | undefined;
  /** Protocols offered by ALPN, in client order; empty when none. */
  alpn: string[];
  /** The legacy record/handshake version, e.g. 0x0303. */
  version: number;
}

export type ClientHelloParse =
  | { kind: 'incomplete' }
  | { kind: 'not-tls' }
  | { kind: 'malformed'; reason: string }
  | { kind: 'ok'; hello: ClientHello };

/** A ClientHello bigger than this is refused (post-quantum key shares make ~1.8 KB ones normal). */
export const MAX_CLIENT_HELLO = 64 * 1024;

const RECORD_HANDSHAKE = 0x16;
const HANDSHAKE_CLIENT_HELLO = 0x01;
const EXT_SERVER_NAME = 0x0000;
const EXT_ALPN = 0x0010;

/** Does this look like the start of a TLS handshake record? Needs at least 3 bytes to be sure. */
export function looksLikeTls(buf: Buffer): boolean {
  if (buf.length === 0 || buf[0] !== RECORD_HANDSHAKE) return false;
  if (buf.length >= 2 && buf[1] !== 0x03) return false;
  return true;
}

/** Join the payloads of the leading handshake records; `null` if more bytes are needed. */
function handshakeBytes(buf: Buffer): Buffer | 'not-tls' | 'malformed' | null {
  const parts: Buffer[] = [];
  let total = 0;
  let need = -1; // handshake message length incl. its 4-byte header, once known
  let off = 0;
  while (true) {
    if (buf.length - off < 5) return null;
    if (buf[off] !== RECORD_HANDSHAKE) return off === 0 ? 'not-tls' : 'malformed';
    if (buf[off + 1] !== 0x03) return off === 0 ? 'not-tls' : 'malformed';
    const len = buf.readUInt16BE(off + 3);
    if (len === 0 || len > 16384 + 2048) return 'malformed';
    if (buf.length - off - 5 < len) return null;
    parts.push(buf.subarray(off + 5, off + 5 + len));
    total += len;
    off += 5 + len;
    if (need < 0 && total >= 4) {
      const first = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
      if (first[0] !== HANDSHAKE_CLIENT_HELLO) return 'malformed';
      need = 4 + ((first[1]! << 16) | (first[2]! << 8) | first[3]!);
      if (need > MAX_CLIENT_HELLO) return 'malformed';
    }
    if (need >= 0 && total >= need) {
      const all = parts.length === 1 ? parts[0]! : Buffer.concat(parts, total);
      return all.subarray(0, need);
    }
  }
}

export function parseClientHello(buf: Buffer): ClientHelloParse {
  const hs = handshakeBytes(buf);
  if (hs === null) return buf.length > MAX_CLIENT_HELLO + 5 * 8 ? { kind: 'malformed', reason: 'ClientHello too large' } : { kind: 'incomplete' };
  if (hs === 'not-tls') return { kind: 'not-tls' };
  if (hs === 'malformed') return { kind: 'malformed', reason: 'not a TLS ClientHello' };
  try {
    return { kind: 'ok', hello: parseBody(hs) };
  } catch (err) {
    return { kind: 'malformed', reason: (err as Error).message };
  }
}

class Reader {
  off: number;
  constructor(readonly buf: Buffer, off: number, readonly end: number) {
    this.off = off;
  }
  need(n: number): void {
    if (this.off + n > this.end) throw new Error('truncated ClientHello');
  }
  u8(): number {
    this.need(1);
    return this.buf[this.off++]!;
  }
  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.off);
    this.off += 2;
    return v;
  }
  skip(n: number): void {
    this.need(n);
    this.off += n;
  }
  /** A sub-reader over the next n bytes; advances this one past them. */
  sub(n: number): Reader {
    this.need(n);
    const r = new Reader(this.buf, this.off, this.off + n);
    this.off += n;
    return r;
  }
  get left(): number {
    return this.end - this.off;
  }
}

function parseBody(hs: Buffer): ClientHello {
  const r = new Reader(hs, 4, hs.length);
  const version = r.u16();
  r.skip(32); // random
  r.skip(r.u8()); // legacy_session_id
  const suites = r.u16();
  if (suites % 2 !== 0) throw new Error('odd cipher_suites length');
  r.skip(suites);
  r.skip(r.u8()); // legacy_compression_methods
  const hello: ClientHello = { sni: undefined, alpn: [], version };
  if (r.left === 0) return hello; // SSLv3-style hello without extensions
  const exts = r.sub(r.u16());
  const seen = new Set<number>();
  while (exts.left > 0) {
    const type = exts.u16();
    const body = exts.sub(exts.u16());
    if (seen.has(type)) throw new Error(`duplicate extension ${type}`);
    seen.add(type);
    if (type === EXT_SERVER_NAME) hello.sni = parseServerName(body);
    else if (type === EXT_ALPN) hello.alpn = parseAlpn(body);
  }
  return hello;
}

function parseServerName(r: Reader): string | undefined {
  if (r.left === 0) return undefined; // servers echo an empty one; clients should not, tolerate it
  const list = r.sub(r.u16());
  let name: string | undefined;
  while (list.left > 0) {
    const type = list.u8();
    const len = list.u16();
    list.need(len);
    if (type === 0) {
      if (name !== undefined) throw new Error('two host_name entries in server_name');
      if (len === 0) throw new Error('empty host_name');
      const raw = list.buf.subarray(list.off, list.off + len);
      // host_name is ASCII (A-labels); anything else is refused rather than guessed at.
      for (const b of raw) if (b <= 0x20 || b >= 0x7f) throw new Error('server_name is not printable ASCII');
      name = raw.toString('latin1').toLowerCase();
    }
    list.off += len;
  }
  return name;
}

function parseAlpn(r: Reader): string[] {
  const list = r.sub(r.u16());
  const out: string[] = [];
  while (list.left > 0) {
    const len = list.u8();
    if (len === 0) throw new Error('empty ALPN protocol name');
    list.need(len);
    out.push(list.buf.toString('latin1', list.off, list.off + len));
    list.off += len;
  }
  return out;
}
