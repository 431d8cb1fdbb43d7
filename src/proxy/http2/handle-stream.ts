import http2, { type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { pipeline, type Readable } from 'node:stream';
import type { PolicySnapshot } from '../../daemon/live-state.js';
import { scrubRawHeaders } from '../../secrets/index.js';
import { pathForLog } from '../http/authority.js';
import { stripHopByHop } from '../http/hop-by-hop.js';
import { BLOCKED_HEADER, ERROR_HEADER, upstreamFailureText } from '../http/messages.js';
import { decideRequest, lateSecretRefusal, newLog, prepareRequest, type Refusal, type RequestLog } from '../http/prepare.js';
import { isSecretError, LengthChangedError } from '../http/request-body.js';
import { checkH2Authority, hostValue } from '../http/request-host.js';
import { planResponse } from '../http/response-headers.js';
import type { ProxyRuntime } from '../runtime.js';
import type { ConnectionContext } from '../types.js';
import type { UpstreamTarget } from '../upstream/clients.js';
import { classifyUpstreamError } from '../upstream/failure.js';
import { handleExtendedConnect } from './extended-connect.js';

const { NGHTTP2_CANCEL, NGHTTP2_INTERNAL_ERROR } = http2.constants;

/** Flatten node's h2 header object into [name, value, …] without pseudo-headers. */
export function flattenHeaders(headers: IncomingHttpHeaders): string[] {
  const out: string[] = [];
  for (const name of Object.keys(headers)) {
    if (name.charCodeAt(0) === 58) continue;
    const v = headers[name];
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const one of v) out.push(name, one);
    else out.push(name, String(v));
  }
  return out;
}

/**
 * Fields node's h2 refuses to send twice (it throws). HTTP/1.1 origins do send some of them twice
 * (two Date or Content-Type lines); the first one is what an HTTP/1.1 client would use too.
 */
const SINGLE_VALUE = new Set([
  'access-control-allow-credentials', 'access-control-max-age', 'access-control-request-method', 'age',
  'authorization', 'content-encoding', 'content-language', 'content-length', 'content-location', 'content-md5',
  'content-range', 'content-type', 'date', 'dnt', 'etag', 'expires', 'from', 'host', 'if-match',
  'if-modified-since', 'if-none-match', 'if-range', 'if-unmodified-since', 'last-modified', 'location',
  'max-forwards', 'proxy-authorization', 'range', 'referer', 'retry-after', 'tk', 'upgrade-insecure-requests',
  'user-agent', 'x-content-type-options',
]);

/** [name, value, …] into an h2 header object (repeated names become arrays; single-value fields keep the first). */
export function toHeaderObject(flat: readonly string[], base: OutgoingHttpHeaders = {}): OutgoingHttpHeaders {
  const out = base;
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i]!.toLowerCase();
    const prev = out[name];
    if (prev === undefined) out[name] = flat[i + 1]!;
    else if (SINGLE_VALUE.has(name)) continue;
    else if (Array.isArray(prev)) prev.push(flat[i + 1]!);
    else out[name] = [String(prev), flat[i + 1]!];
  }
  return out;
}

/**
 * Send a response head the upstream chose. Returns why it cannot be sent over h2 (a status outside
 * 200-599, a field h2 forbids) instead of throwing; nothing has been sent then.
 */
export function respondUpstreamHead(stream: ServerHttp2Stream, status: number, flat: readonly string[], options?: { waitForTrailers?: boolean }): string | null {
  if (!Number.isInteger(status) || status < 200 || status > 599) return `the upstream answered with status ${status}, which cannot be relayed`;
  try {
    stream.respond(toHeaderObject(flat, { ':status': status }), options);
    return null;
  } catch (err) {
    return `the upstream's response head cannot be sent over HTTP/2 (${(err as Error).message})`;
  }
}

export function respondText(stream: ServerHttp2Stream, status: number, text: string, header: string): void {
  if (stream.destroyed || stream.closed) return;
  if (stream.headersSent) {
    stream.close(NGHTTP2_INTERNAL_ERROR);
    return;
  }
  const body = Buffer.from(text, 'utf8');
  stream.respond({ ':status': status, 'content-type': 'text/plain; charset=utf-8', 'content-length': body.length, 'cache-control': 'no-store', [header]: '1' });
  stream.end(body);
}

/**
 * One HTTP/2 stream from the agent: decided on :authority (plus SNI and DNS names), secrets
 * substituted per stream, forwarded over h2 when the origin offers it, else HTTP/1.1.
 */
export function handleHttp2Stream(rt: ProxyRuntime, conn: ConnectionContext, stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
  const started = performance.now();
  const snap = rt.state.current;
  const method = String(headers[':method'] ?? 'GET');
  const path = String(headers[':path'] ?? '/');
  const hostCheck = checkH2Authority(headers[':authority'], headers.host);
  const authority = hostCheck.ok ? hostCheck.authority : null;
  const log = newLog(conn, conn.tls ? 'h2' : 'h2c', method, authority?.host ?? conn.sni ?? conn.dest.address, pathForLog(path));
  let logged = false;
  const done = (status: number, extra?: Partial<RequestLog>) => {
    if (logged) return;
    logged = true;
    Object.assign(log, { status, ...extra, ms: Math.round((performance.now() - started) * 100) / 100 });
    rt.logger.info(log, 'request');
  };
  const refuse = (r: Refusal) => {
    respondText(stream, r.status, r.text, r.header);
    stream.resume();
    done(r.status, r.extra);
  };
  stream.on('error', () => stream.destroy());

  if (!hostCheck.ok) return refuse({ status: 400, text: hostCheck.text, header: BLOCKED_HEADER, extra: { reason: hostCheck.reason } });
  const decided = decideRequest(rt, snap, conn, method, authority?.host, log);
  if (!decided.ok) return refuse(decided.refusal);
  const { target } = decided;

  if (method === 'CONNECT') {
    if (headers[':protocol']) return handleExtendedConnect(rt, conn, snap, stream, headers, target, done);
    return refuse({ status: 405, text: 'sandcat intercepts connections transparently and is not a forward proxy; unset HTTP_PROXY/HTTPS_PROXY.\n', header: BLOCKED_HEADER, extra: {} });
  }
  // The upstream routes on the name that was decided on, in the form it was decided on.
  void forward(rt, conn, snap, stream, headers, method, path, authority ? hostValue(authority) : target.host, target, log)
    .then((o) => (o.refusal ? refuse(o.refusal) : done(o.status, o.extra)))
    .catch((err) => {
      rt.logger.error({ conn: conn.id, err: (err as Error).message }, 'internal error handling h2 stream');
      respondText(stream, 502, upstreamFailureText(method, target.host, 'internal proxy error'), ERROR_HEADER);
      done(502, { error: 'internal' });
    });
}

interface Outcome {
  status: number;
  extra?: Partial<RequestLog>;
  refusal?: Refusal;
}

async function forward(
  rt: ProxyRuntime,
  conn: ConnectionContext,
  snap: PolicySnapshot,
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  method: string,
  path: string,
  authority: string,
  target: UpstreamTarget,
  log: RequestLog,
): Promise<Outcome> {
  const bodyPresent = !stream.endAfterHeaders;
  const declared = headers['content-length'] !== undefined ? Number(headers['content-length']) : undefined;
  const prepared = await prepareRequest(
    snap,
    conn,
    target,
    method,
    path,
    stripHopByHop(flattenHeaders(headers), { dropHost: true, lowerCase: true }),
    bodyPresent ? { source: stream, contentEncoding: headers['content-encoding'] as string | undefined, contentLength: declared } : null,
    log,
  );
  if (!prepared.ok) {
    if ('refusal' in prepared) return { status: prepared.refusal.status, refusal: prepared.refusal };
    stream.close(NGHTTP2_CANCEL);
    return { status: 0, extra: { error: `client aborted: ${prepared.aborted.message}` } };
  }
  let flat = prepared.headers;
  const body = prepared.body;
  if (prepared.bodyChanged) {
    flat = flat.filter((_, i, all) => all[i - (i % 2)] !== 'content-length');
    if (prepared.contentLength !== undefined) flat.push('content-length', String(prepared.contentLength));
  }
  const substitutedNow = () => ({ substituted: [...prepared.substituted] });

  const session = target.tls ? await rt.upstream.session2(target).catch((err: unknown) => err as Error) : null;
  if (session instanceof Error) {
    const f = classifyUpstreamError(session, target.host, target.port);
    respondText(stream, f.status, upstreamFailureText(method, target.host, f.message), ERROR_HEADER);
    return { status: f.status, extra: { error: f.kind } };
  }

  return new Promise<Outcome>((resolve) => {
    let finished = false;
    const finish = (o: Outcome) => {
      if (finished) return;
      finished = true;
      resolve(o);
    };
    const fail = (err: unknown, abortUpstream: () => void) => {
      if (finished) return;
      abortUpstream();
      if (isSecretError(err)) return finish({ status: 403, refusal: lateSecretRefusal(method, target.host, err, log) });
      if (err instanceof LengthChangedError) {
        respondText(stream, 502, upstreamFailureText(method, target.host, 'a secret substitution changed the length of a fixed-length upload; send it without content-length'), ERROR_HEADER);
        return finish({ status: 502, extra: { error: 'length-changed' } });
      }
      const f = classifyUpstreamError(err, target.host, target.port);
      respondText(stream, f.status, upstreamFailureText(method, target.host, f.message), ERROR_HEADER);
      finish({ status: f.status, extra: { error: f.kind, ...substitutedNow() } });
    };
    const respond = (status: number, rawHeaders: string[], upBody: Readable, trailers: () => OutgoingHttpHeaders | undefined) => {
      const plan = planResponse(rawHeaders, status, method, snap.vault, { lowerCase: true });
      if (!plan.ok) {
        upBody.destroy();
        respondText(stream, 502, upstreamFailureText(method, target.host, plan.message), ERROR_HEADER);
        return finish({ status: 502, extra: { error: 'unscrubbable-encoding' } });
      }
      if (stream.destroyed || stream.closed) {
        upBody.destroy();
        return finish({ status: 0, extra: { error: 'client closed' } });
      }
      const unsendable = respondUpstreamHead(stream, status, plan.headers, { waitForTrailers: true });
      if (unsendable) {
        upBody.destroy();
        respondText(stream, 502, upstreamFailureText(method, target.host, unsendable), ERROR_HEADER);
        return finish({ status: 502, extra: { error: 'protocol' } });
      }
      stream.once('wantTrailers', () => {
        try {
          stream.sendTrailers(trailers() ?? {});
        } catch {
          /* stream already closed */
        }
      });
      let bytes = 0;
      upBody.on('data', (c: Buffer) => (bytes += c.length));
      if (plan.transforms.length === 0) {
        // Plain pipe on the common path (pipeline() costs an AbortController per response).
        upBody.once('error', (err) => {
          if (!stream.destroyed) stream.close(NGHTTP2_INTERNAL_ERROR);
          finish({ status, extra: { bytes, ...substitutedNow(), error: `stream: ${err.message}` } });
        });
        stream.once('finish', () => finish({ status, extra: { bytes, ...substitutedNow() } }));
        upBody.pipe(stream);
        return;
      }
      pipeline([upBody, ...plan.transforms, stream] as unknown as [Readable, NodeJS.WritableStream], (err) => {
        if (err && !stream.destroyed) stream.close(NGHTTP2_INTERNAL_ERROR);
        finish({ status, extra: { bytes, ...substitutedNow(), ...(err ? { error: `stream: ${(err as Error).message}` } : {}) } });
      });
    };
    const writeBody = (dest: NodeJS.WritableStream, abort: () => void) => {
      if (body === null) dest.end();
      else if (Buffer.isBuffer(body)) dest.end(body);
      else {
        body.on('error', (err) => fail(err, abort));
        body.pipe(dest);
      }
    };

    if (session) {
      const h = toHeaderObject(flat, { ':method': method, ':path': prepared.url, ':authority': authority, ':scheme': 'https' });
      // gRPC needs "te: trailers", the one TE value h2 allows.
      if (headers.te === 'trailers') h.te = 'trailers';
      const up = session.request(h, { endStream: body === null });
      const abort = () => up.close(NGHTTP2_CANCEL);
      stream.once('close', () => {
        if (!finished) abort();
      });
      let upTrailers: OutgoingHttpHeaders | undefined;
      // Trailers are headers the agent reads too (grpc-message carries server text): scrubbed.
      up.on('trailers', (t) => (upTrailers = toHeaderObject(scrubRawHeaders(snap.vault, stripHopByHop(flattenHeaders(t), { lowerCase: true })).headers)));
      up.on('error', (err) => fail(err, abort));
      up.once('response', (resHeaders) => respond(Number(resHeaders[':status'] ?? 502), flattenHeaders(resHeaders), up, () => upTrailers));
      if (body !== null) writeBody(up, abort);
      return;
    }

    // The origin speaks HTTP/1.1 (or this is h2c toward plain HTTP): translate.
    const h1Headers = [...flat, 'host', authority];
    if (body !== null && !Buffer.isBuffer(body) && !flat.some((v, i) => i % 2 === 0 && v === 'content-length')) h1Headers.push('transfer-encoding', 'chunked');
    const up = rt.upstream.request1(target, method, prepared.url, h1Headers);
    const abort = () => up.destroy();
    stream.once('close', () => {
      if (!finished) abort();
    });
    up.on('error', (err) => fail(err, abort));
    up.on('response', (upRes) => respond(upRes.statusCode ?? 502, upRes.rawHeaders, upRes, () => undefined));
    writeBody(up, abort);
  });
}
