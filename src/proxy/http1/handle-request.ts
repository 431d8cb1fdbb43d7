import { STATUS_CODES, type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { pipeline, type Readable } from 'node:stream';
import type { PolicySnapshot } from '../../daemon/live-state.js';
import { pathForLog } from '../http/authority.js';
import { stripHopByHop } from '../http/hop-by-hop.js';
import { BLOCKED_HEADER, ERROR_HEADER, upstreamFailureText } from '../http/messages.js';
import { decideRequest, lateSecretRefusal, newLog, prepareRequest, type Refusal, type RequestLog } from '../http/prepare.js';
import { isSecretError, LengthChangedError } from '../http/request-body.js';
import { checkHostHeaders, hostValue, withHost } from '../http/request-host.js';
import { planResponse } from '../http/response-headers.js';
import type { ProxyRuntime } from '../runtime.js';
import type { ConnectionContext } from '../types.js';
import type { UpstreamTarget } from '../upstream/clients.js';
import { classifyUpstreamError } from '../upstream/failure.js';

export type { RequestLog } from '../http/prepare.js';

export function sendText(res: ServerResponse, status: number, text: string, header: string, closeAfter = false): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = Buffer.from(text, 'utf8');
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': body.length,
    'cache-control': 'no-store',
    [header]: '1',
    ...(closeAfter ? { connection: 'close' } : {}),
  });
  res.end(body);
}

function hasBody(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const cl = req.headers['content-length'];
  return cl !== undefined && cl !== '0';
}

function isIdempotent(method: string): boolean {
  return method === 'GET' || method === 'HEAD' || method === 'OPTIONS' || method === 'PUT' || method === 'DELETE' || method === 'TRACE';
}

function withoutHeaders(headers: string[], names: ReadonlySet<string>): string[] {
  return headers.filter((_, i, all) => !names.has(all[i - (i % 2)]!.toLowerCase()));
}

function hasHeader(headers: readonly string[], lowerName: string): boolean {
  for (let i = 0; i < headers.length; i += 2) if (headers[i]!.toLowerCase() === lowerName) return true;
  return false;
}

const BODY_FRAMING = new Set(['content-length', 'transfer-encoding']);
const EXPECT = new Set(['expect']);

/**
 * One HTTP/1.x request from the agent (decrypted TLS or plain HTTP): decide on every claimed name,
 * substitute secrets, forward to the allowed host by name, stream the response back scrubbed.
 * `expectContinue`: the client waits for 100 Continue; it is sent only once the head is allowed.
 */
export async function handleHttp1Request(rt: ProxyRuntime, conn: ConnectionContext, req: IncomingMessage, res: ServerResponse, expectContinue: boolean): Promise<void> {
  const started = performance.now();
  const snap = rt.state.current;
  const method = req.method ?? 'GET';
  const url = req.url ?? '/';
  const hostCheck = checkHostHeaders(req.rawHeaders);
  const authority = hostCheck.ok ? hostCheck.authority : null;
  const log = newLog(conn, conn.tls ? 'https/1.1' : 'http/1.1', method, authority?.host ?? conn.sni ?? conn.dest.address, pathForLog(url));
  const bodyPresent = hasBody(req);
  const done = (status: number, extra?: Partial<RequestLog>) => {
    log.status = status;
    if (extra) Object.assign(log, extra);
    log.ms = Math.round((performance.now() - started) * 100) / 100;
    rt.logger.info(log, 'request');
  };
  const refuse = (r: Refusal) => {
    // Unread body bytes would be parsed as the next request: close after refusing one.
    sendText(res, r.status, r.text, r.header, expectContinue || bodyPresent);
    req.resume();
    done(r.status, r.extra);
  };
  if (rt.draining) res.shouldKeepAlive = false;

  if (!hostCheck.ok) return refuse({ status: 400, text: hostCheck.text, header: BLOCKED_HEADER, extra: { reason: hostCheck.reason } });
  if (!url.startsWith('/') && url !== '*') {
    // Absolute-form targets would let a request name a second host; a transparent proxy never needs them.
    return refuse({ status: 400, text: 'sandcat: absolute-form request targets are not accepted (this is not a forward proxy; unset HTTP_PROXY/HTTPS_PROXY)\n', header: BLOCKED_HEADER, extra: { reason: 'absolute-form' } });
  }
  const decided = decideRequest(rt, snap, conn, method, authority?.host, log);
  if (!decided.ok) return refuse(decided.refusal);
  const { target } = decided;

  // Hop-by-hop headers stay on this leg; Expect is answered by us, not forwarded.
  // The upstream routes on the name that was decided on, in the form it was decided on.
  let headers = withHost(withoutHeaders(stripHopByHop(req.rawHeaders), EXPECT), authority ? hostValue(authority) : target.host);
  const declared = req.headers['content-length'] !== undefined ? Number(req.headers['content-length']) : undefined;
  const prepared = await prepareRequest(
    snap,
    conn,
    target,
    method,
    url,
    headers,
    bodyPresent ? { source: req, contentEncoding: req.headers['content-encoding'], contentLength: declared } : null,
    log,
    expectContinue ? () => res.writeContinue() : undefined,
  );
  if (!prepared.ok) {
    if ('refusal' in prepared) return refuse(prepared.refusal);
    res.destroy();
    return done(0, { error: `client aborted: ${prepared.aborted.message}` });
  }
  headers = prepared.headers;
  if (prepared.bodyChanged) {
    headers = withoutHeaders(headers, BODY_FRAMING);
    if (prepared.contentLength !== undefined) headers.push('Content-Length', String(prepared.contentLength));
    else headers.push('Transfer-Encoding', 'chunked');
  } else if (prepared.body !== null && !hasHeader(headers, 'content-length')) {
    // A body of unknown length (the agent sent it chunked). Node's client chunks bodies on its own
    // only for some methods; a GET/HEAD/DELETE/OPTIONS body would go out unframed and the upstream
    // would parse it as the next request (smuggling). Frame it explicitly.
    headers = withoutHeaders(headers, BODY_FRAMING);
    headers.push('Transfer-Encoding', 'chunked');
  }
  const outcome = await exchange(rt, snap, req, res, target, method, prepared.url, headers, prepared.body, log);
  done(outcome.status, { ...outcome.extra, substituted: [...prepared.substituted] });
}

interface Outcome {
  status: number;
  extra?: Partial<RequestLog>;
}

/** Send the prepared request upstream (retrying once on a stale pooled socket) and stream the answer back. */
function exchange(rt: ProxyRuntime, snap: PolicySnapshot, req: IncomingMessage, res: ServerResponse, target: UpstreamTarget, method: string, url: string, headers: string[], body: Readable | Buffer | null, log: RequestLog): Promise<Outcome> {
  return new Promise<Outcome>((resolve) => {
    let attempt = 0;
    let upReq: ClientRequest | undefined;
    let finished = false;
    const finish = (o: Outcome) => {
      if (finished) return;
      finished = true;
      resolve(o);
    };
    const fail = (err: unknown) => {
      if (finished) return;
      upReq?.destroy();
      if (isSecretError(err)) {
        const r = lateSecretRefusal(method, target.host, err, log);
        sendText(res, r.status, r.text, r.header, true);
        return finish({ status: r.status, extra: r.extra });
      }
      if (err instanceof LengthChangedError) {
        sendText(res, 502, upstreamFailureText(method, target.host, 'a secret substitution changed the length of a fixed-length upload; send it chunked'), ERROR_HEADER, true);
        return finish({ status: 502, extra: { error: 'length-changed' } });
      }
      const f = classifyUpstreamError(err, target.host, target.port);
      sendText(res, f.status, upstreamFailureText(method, target.host, f.message), ERROR_HEADER, body !== null);
      finish({ status: f.status, extra: { error: f.kind } });
    };
    const send = () => {
      attempt++;
      const current = rt.upstream.request1(target, method, url, headers);
      upReq = current;
      current.on('error', (err) => {
        // A pooled connection the server had just closed: retry once if nothing was streamed.
        const retriable = attempt === 1 && current.reusedSocket && (err as NodeJS.ErrnoException).code === 'ECONNRESET' && !res.headersSent && !(body !== null && !Buffer.isBuffer(body)) && isIdempotent(method);
        if (retriable) return send();
        fail(err);
      });
      current.on('response', (upRes) => {
        const status = upRes.statusCode ?? 502;
        const plan = planResponse(upRes.rawHeaders, status, method, snap.vault);
        if (!plan.ok) {
          upRes.destroy();
          sendText(res, 502, upstreamFailureText(method, target.host, plan.message), ERROR_HEADER);
          return finish({ status: 502, extra: { error: 'unscrubbable-encoding' } });
        }
        if (rt.draining) res.shouldKeepAlive = false;
        // The standard reason phrase, never the upstream's: it is text the agent reads, and
        // clients ignore it (RFC 9112 §4), so it is one less channel to scrub.
        res.writeHead(status, STATUS_CODES[status] ?? 'Unknown', plan.headers);
        // A body of unknown length may be a stream (SSE, long poll): send the head now so the
        // agent sees the response open. Sized bodies let node coalesce head and body in one write.
        if (upRes.headers['content-length'] === undefined) res.flushHeaders();
        let bytes = 0;
        upRes.on('data', (c: Buffer) => (bytes += c.length));
        if (plan.transforms.length === 0) {
          // The common case: a plain pipe. pipeline() would allocate an AbortController and throw
          // away a DOMException per response, a measurable share of the CPU per request.
          upRes.once('error', (err) => {
            res.destroy();
            finish({ status, extra: { bytes, error: `stream: ${err.message}` } });
          });
          res.once('finish', () => finish({ status, extra: { bytes } }));
          upRes.pipe(res);
          return;
        }
        pipeline([upRes, ...plan.transforms, res] as unknown as [Readable, NodeJS.WritableStream], (err) => {
          if (err) res.destroy();
          finish({ status, extra: { bytes, ...(err ? { error: `stream: ${(err as Error).message}` } : {}) } });
        });
      });
      if (body === null) current.end();
      else if (Buffer.isBuffer(body)) current.end(body);
      else body.pipe(current);
    };
    if (body !== null && !Buffer.isBuffer(body)) body.on('error', fail);
    // The agent went away: stop the upstream exchange too.
    res.once('close', () => {
      if (!res.writableFinished) {
        upReq?.destroy();
        finish({ status: res.headersSent ? res.statusCode : 0, extra: { error: 'client closed' } });
      }
    });
    req.once('error', () => upReq?.destroy());
    send();
  });
}
