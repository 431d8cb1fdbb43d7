import { createHash, randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { PolicySnapshot } from '../../daemon/live-state.js';
import { parseAuthority } from '../http/authority.js';
import { stripHopByHop } from '../http/hop-by-hop.js';
import { hostValue } from '../http/request-host.js';
import { substituteRequestHead } from '../../secrets/index.js';
import { BLOCKED_HEADER, ERROR_HEADER, secretBlockedText, upstreamFailureText } from '../http/messages.js';
import { pipeThroughTransforms, planResponse } from '../http/response-headers.js';
import { watchUpgradeRequest } from '../http/upgrade-request.js';
import type { RequestLog } from '../http/prepare.js';
import { relayDuplex, webSocketServerScrub, withoutWebSocketExtensions } from '../http1/handle-upgrade.js';
import type { ProxyRuntime } from '../runtime.js';
import type { ConnectionContext } from '../types.js';
import type { UpstreamTarget } from '../upstream/clients.js';
import { flattenHeaders, respondText, respondUpstreamHead } from './handle-stream.js';

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/**
 * WebSocket over HTTP/2 (RFC 8441 extended CONNECT). Upstream it becomes an HTTP/1.1 Upgrade
 * (which every WebSocket server speaks); after the upstream's 101 the h2 stream and the upstream
 * socket are relayed both ways, server frames scrubbed of real values (as over HTTP/1.1).
 */
export function handleExtendedConnect(
  rt: ProxyRuntime,
  conn: ConnectionContext,
  snap: PolicySnapshot,
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  target: UpstreamTarget,
  done: (status: number, extra?: Partial<RequestLog>) => void,
): void {
  const method = 'CONNECT';
  if (headers[':protocol'] !== 'websocket') {
    respondText(stream, 501, `sandcat: extended CONNECT for "${String(headers[':protocol'])}" is not supported, only websocket\n`, BLOCKED_HEADER);
    return done(501);
  }
  const path = String(headers[':path'] ?? '/');
  const flat = withoutWebSocketExtensions(stripHopByHop(flattenHeaders(headers), { dropHost: true, lowerCase: true }), snap.vault);
  const sub = substituteRequestHead(snap.vault, { url: path, rawHeaders: flat, host: target.host, tls: conn.tls });
  if (!sub.ok) {
    respondText(stream, 403, secretBlockedText(method, target.host, sub.message), BLOCKED_HEADER);
    return done(403, { leak: sub.secret, reason: `secret-${sub.kind}` });
  }
  const key = randomBytes(16).toString('base64');
  const authority = hostValue(parseAuthority(String(headers[':authority'] ?? '')) ?? { host: target.host, port: undefined });
  const h1 = [...sub.headers, 'host', authority, 'connection', 'Upgrade', 'upgrade', 'websocket', 'sec-websocket-key', key];
  if (!sub.headers.includes('sec-websocket-version')) h1.push('sec-websocket-version', '13');
  const up = rt.upstream.request1(target, 'GET', sub.url, h1);
  const settle = watchUpgradeRequest(up, stream, target.host, target.port, (f) => {
    respondText(stream, f.status, upstreamFailureText(method, target.host, f.message), ERROR_HEADER);
    done(f.status, { error: f.kind });
  });
  up.on('response', (res) => {
    settle();
    const status = res.statusCode ?? 502;
    const plan = planResponse(res.rawHeaders, status, 'GET', snap.vault, { lowerCase: true });
    if (!plan.ok) {
      res.destroy();
      respondText(stream, 502, upstreamFailureText(method, target.host, plan.message), ERROR_HEADER);
      return done(502, { error: 'unscrubbable-encoding' });
    }
    const unsendable = respondUpstreamHead(stream, status, plan.headers);
    if (unsendable) {
      res.destroy();
      respondText(stream, 502, upstreamFailureText(method, target.host, unsendable), ERROR_HEADER);
      return done(502, { error: 'protocol' });
    }
    pipeThroughTransforms(res, plan.transforms, stream);
    done(status);
  });
  up.on('upgrade', (res, socket, upHead) => {
    settle();
    const expected = createHash('sha1').update(key + WS_GUID).digest('base64');
    if (res.headers['sec-websocket-accept'] !== expected) {
      socket.destroy();
      respondText(stream, 502, upstreamFailureText(method, target.host, 'the upstream WebSocket handshake was invalid'), ERROR_HEADER);
      return done(502, { error: 'protocol' });
    }
    const scrub = webSocketServerScrub(snap.vault, res.headers['sec-websocket-extensions']);
    if (typeof scrub === 'string') {
      socket.destroy();
      respondText(stream, 502, upstreamFailureText(method, target.host, scrub), ERROR_HEADER);
      return done(502, { error: 'protocol' });
    }
    const out: Record<string, string> = { ':status': '200' };
    for (const h of ['sec-websocket-protocol', 'sec-websocket-extensions'] as const) {
      const v = res.headers[h];
      if (typeof v === 'string') out[h] = v;
    }
    stream.respond(out);
    // Bytes the upstream sent right after its 101 are frames too: they go through the scrubber.
    if (upHead.length) (scrub ?? stream).write(upHead);
    let bytes = 0;
    socket.on('data', (c: Buffer) => (bytes += c.length));
    relayDuplex(stream, socket, rt.idleTimeoutMs, (error) => done(200, { bytes, ...(error ? { error } : {}) }), scrub ?? undefined);
  });
  up.end();
}
