import type { Socket } from 'node:net';
import { looksLikeTls, parseClientHello, type ClientHello } from './tls/client-hello.js';

/** What the first bytes of a connection say it is. `data` is everything read so far. */
export type Sniffed =
  | { kind: 'tls'; hello: ClientHello; data: Buffer }
  | { kind: 'bad-tls'; reason: string; data: Buffer }
  | { kind: 'http'; data: Buffer }
  | { kind: 'h2c'; data: Buffer }
  | { kind: 'tcp'; data: Buffer }
  | { kind: 'closed' };

/** Methods recognised at once; any other token is HTTP only if its first line names an HTTP version. */
const METHODS = new Set([
  'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'CONNECT',
  'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'REPORT', 'SEARCH', 'MKCALENDAR', 'PURGE',
]);
const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
/** A first line this long without a newline goes to the HTTP parser, which refuses it (servers cap lines near 8 KiB too). */
const MAX_REQUEST_LINE = 8192;
/** A ClientHello still incomplete after this long is refused. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

/** RFC 9110 tchar: what an HTTP method (any token) may be made of. */
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") TCHAR[c.charCodeAt(0)] = 1;

type Verdict = Sniffed | 'more';

/**
 * Pure classification of the bytes read so far. Anything an HTTP server would parse as a request
 * must come out as `http` (or `h2c`), never `tcp`: raw TCP is relayed undecided to the IP's DNS
 * name, so a request smuggled through it would reach whatever Host it names. Hence:
 *  - leading CR/LF is HTTP (RFC 9112 §2.2: servers skip empty lines before a request line);
 *  - a token other than a known method is HTTP when its first line carries `HTTP/<digit>`
 *    (servers accept unknown and lower-case methods and route them by Host).
 */
export function classify(data: Buffer): Verdict {
  if (data.length === 0) return 'more';
  if (looksLikeTls(data)) {
    const r = parseClientHello(data);
    if (r.kind === 'incomplete') return 'more';
    if (r.kind === 'ok') return { kind: 'tls', hello: r.hello, data };
    if (r.kind === 'malformed') return { kind: 'bad-tls', reason: r.reason, data };
    return { kind: 'tcp', data };
  }
  const c0 = data[0]!;
  // TLS a stack may still accept (Go's does): another record type first (an alert, a
  // change_cipher_spec), or a ClientHello in a record with an odd version. Refused, never piped.
  if (c0 >= 0x14 && c0 <= 0x17) {
    if (data.length < 2) return 'more';
    if (c0 !== 0x16 && data[1] === 0x03) return { kind: 'bad-tls', reason: 'a TLS record other than a ClientHello came first', data };
    if (c0 === 0x16 && data[1]! <= 0x0f) {
      if (data.length < 10) return 'more';
      if (data[5] === 0x01 && data[9] === 0x03) return { kind: 'bad-tls', reason: 'a ClientHello in a record with an unusual version', data };
    }
  }
  // Empty lines and leading whitespace before a request line: servers skip them (RFC 9112 §2.2).
  if (c0 === 0x0d || c0 === 0x0a || c0 === 0x20 || c0 === 0x09) return { kind: 'http', data };
  if (c0 === 0x50 /* P */ && H2_PREFACE.subarray(0, Math.min(data.length, H2_PREFACE.length)).equals(data.subarray(0, Math.min(data.length, H2_PREFACE.length)))) {
    return data.length >= H2_PREFACE.length ? { kind: 'h2c', data } : 'more';
  }
  // An HTTP/1 request line starts with a token and a space (or a tab: lenient servers take it).
  const n = Math.min(data.length, MAX_REQUEST_LINE);
  let sp = -1;
  for (let i = 0; i < n; i++) {
    const c = data[i]!;
    if (c === 0x20 || c === 0x09) {
      sp = i;
      break;
    }
    if (!TCHAR[c]) return { kind: 'tcp', data };
  }
  // 8 KiB of a token, or of a request line, with no end: the HTTP parser refuses it, never the relay.
  if (sp === -1) return data.length >= MAX_REQUEST_LINE ? { kind: 'http', data } : 'more';
  if (METHODS.has(data.toString('latin1', 0, sp))) return { kind: 'http', data };
  const nl = data.indexOf(0x0a, sp);
  if (nl === -1 || nl > MAX_REQUEST_LINE) return data.length >= MAX_REQUEST_LINE ? { kind: 'http', data } : 'more';
  return /HTTP\/\d/i.test(data.toString('latin1', sp, nl)) ? { kind: 'http', data } : { kind: 'tcp', data };
}

/**
 * Read until the first bytes classify the connection. A client that sends nothing within
 * `timeoutMs` is treated as raw TCP with a server-first protocol (SSH banners, SMTP, databases).
 */
export function sniff(socket: Socket, timeoutMs: number): Promise<Sniffed> {
  return new Promise((resolve) => {
    let data: Buffer = Buffer.alloc(0);
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const finish = (result: Sniffed) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onEnd);
      socket.pause();
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      data = data.length === 0 ? chunk : Buffer.concat([data, chunk]);
      const v = classify(data);
      if (v !== 'more') return finish(v);
      // A TLS record in progress gets the handshake timeout instead of the short sniff timeout.
      if (looksLikeTls(data)) {
        clearTimeout(timer);
        timer = setTimeout(() => finish({ kind: 'bad-tls', reason: 'incomplete ClientHello', data }), HANDSHAKE_TIMEOUT_MS);
      }
    };
    const onEnd = () => finish(data.length ? { kind: 'tcp', data } : { kind: 'closed' });
    timer = setTimeout(() => finish(data.length && looksLikeTls(data) ? { kind: 'bad-tls', reason: 'incomplete ClientHello', data } : { kind: 'tcp', data }), timeoutMs);
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.once('error', onEnd);
  });
}
