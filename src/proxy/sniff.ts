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

/** Methods we treat as HTTP/1.x; anything else starting with letters is raw TCP (e.g. SMTP "EHLO"). */
const METHODS = new Set([
  'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'CONNECT',
  'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'REPORT', 'SEARCH', 'MKCALENDAR', 'PURGE',
]);
const LONGEST_METHOD = 10;
const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
/** A ClientHello still incomplete after this long is refused. */
const HANDSHAKE_TIMEOUT_MS = 10_000;

type Verdict = Sniffed | 'more';

/** Pure classification of the bytes read so far. */
export function classify(data: Buffer): Verdict {
  if (data.length === 0) return 'more';
  if (looksLikeTls(data)) {
    const r = parseClientHello(data);
    if (r.kind === 'incomplete') return 'more';
    if (r.kind === 'ok') return { kind: 'tls', hello: r.hello, data };
    if (r.kind === 'malformed') return { kind: 'bad-tls', reason: r.reason, data };
    return { kind: 'tcp', data };
  }
  if (data[0] === 0x50 /* P */ && H2_PREFACE.subarray(0, Math.min(data.length, H2_PREFACE.length)).equals(data.subarray(0, Math.min(data.length, H2_PREFACE.length)))) {
    return data.length >= H2_PREFACE.length ? { kind: 'h2c', data } : 'more';
  }
  // An HTTP/1 request line starts with an upper-case token and a space.
  const n = Math.min(data.length, LONGEST_METHOD + 1);
  for (let i = 0; i < n; i++) {
    const c = data[i]!;
    if (c === 0x20) return i > 0 && METHODS.has(data.toString('latin1', 0, i)) ? { kind: 'http', data } : { kind: 'tcp', data };
    if (c < 0x41 || c > 0x5a) return { kind: 'tcp', data };
  }
  return data.length > LONGEST_METHOD ? { kind: 'tcp', data } : 'more';
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
