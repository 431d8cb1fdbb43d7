import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex, Transform } from 'node:stream';
import type { SecretVault } from '../../secrets/index.js';
import { substituteRequestHead } from '../../secrets/index.js';
import { pathForLog } from '../http/authority.js';
import { stripHopByHop } from '../http/hop-by-hop.js';
import { BLOCKED_HEADER, ERROR_HEADER, secretBlockedText, upstreamFailureText } from '../http/messages.js';
import { decideRequest, newLog, type RequestLog } from '../http/prepare.js';
import { checkHostHeaders, hostValue, withHost } from '../http/request-host.js';
import { pipeThroughTransforms, planResponse } from '../http/response-headers.js';
import { watchUpgradeRequest } from '../http/upgrade-request.js';
import { WebSocketServerScrub } from '../http/websocket-scrub.js';
import type { ProxyRuntime } from '../runtime.js';
import type { ConnectionContext } from '../types.js';

/** Write a complete HTTP/1.1 response on a raw socket (upgrade requests have no ServerResponse). */
export function writeRawResponse(socket: Duplex, status: number, headers: readonly string[], body?: string): void {
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n`;
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  if (body !== undefined) {
    const buf = Buffer.from(body, 'utf8');
    head += `content-type: text/plain; charset=utf-8\r\ncontent-length: ${buf.length}\r\nconnection: close\r\n\r\n`;
    socket.end(Buffer.concat([Buffer.from(head, 'latin1'), buf]));
    return;
  }
  socket.write(head + '\r\n', 'latin1');
}

/** The protocols an `Upgrade:` header asks for, lower-case. */
function upgradeProtocols(value: string | undefined): string[] {
  return (value ?? '').split(',').map((p) => p.trim().toLowerCase().split('/')[0]!).filter(Boolean);
}

/**
 * When the vault holds values to scrub: the WebSocket request goes upstream without
 * `Sec-WebSocket-Extensions`, so server frames arrive uncompressed and can be scrubbed.
 */
export function withoutWebSocketExtensions(headers: readonly string[], vault: SecretVault): string[] {
  if (!vault.hasScrubbableValues) return headers as string[];
  return headers.filter((_, i, all) => all[i - (i % 2)]!.toLowerCase() !== 'sec-websocket-extensions');
}

/**
 * The server→client side of an upgraded WebSocket: a frame scrubber when the vault holds values,
 * else null (relay untouched). An error string when the server negotiated an extension anyway.
 */
export function webSocketServerScrub(vault: SecretVault, responseExtensions: unknown): Transform | null | string {
  if (!vault.hasScrubbableValues) return null;
  if (responseExtensions !== undefined) return 'the upstream WebSocket server negotiated an extension sandcat did not offer';
  return new WebSocketServerScrub(vault);
}

/**
 * `Upgrade:` requests (WebSocket and others). The policy and secret substitution apply to the
 * upgrade request; once the upstream answers 101 the two sockets are relayed both ways until
 * either side closes. Client frames pass as typed (masked; placeholders in them are not
 * substituted). When the vault holds values, WebSocket server frames are scrubbed of them
 * (websocket-scrub.ts) and other upgraded protocols' server bytes are scrubbed as a stream. `Upgrade: h2c` is dropped:
 * the request goes upstream as a plain request, because an h2c connection would carry further
 * requests the proxy never decides on.
 */
export function handleHttp1Upgrade(rt: ProxyRuntime, conn: ConnectionContext, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const started = performance.now();
  const snap = rt.state.current;
  const method = req.method ?? 'GET';
  const hostCheck = checkHostHeaders(req.rawHeaders);
  const authority = hostCheck.ok ? hostCheck.authority : null;
  const proto = `${conn.tls ? 'https' : 'http'}/1.1 upgrade ${String(req.headers.upgrade ?? '').slice(0, 20)}`;
  const log = newLog(conn, proto, method, authority?.host ?? conn.sni ?? conn.dest.address, pathForLog(req.url ?? '/'));
  const done = (status: number, extra?: Partial<RequestLog>) => {
    Object.assign(log, { status, ...extra, ms: Math.round((performance.now() - started) * 100) / 100 });
    rt.logger.info(log, 'request');
  };
  socket.on('error', () => socket.destroy());
  if (!hostCheck.ok) {
    writeRawResponse(socket, 400, [BLOCKED_HEADER, '1'], hostCheck.text);
    return done(400, { reason: hostCheck.reason });
  }
  const decided = decideRequest(rt, snap, conn, method, authority?.host, log);
  if (!decided.ok) {
    writeRawResponse(socket, decided.refusal.status, [decided.refusal.header, '1'], decided.refusal.text);
    return done(decided.refusal.status, decided.refusal.extra);
  }
  const { target } = decided;
  const host = target.host;
  const protocols = upgradeProtocols(req.headers.upgrade);
  const plainRequest = protocols.includes('h2c');
  const webSocket = !plainRequest && protocols.includes('websocket');
  let headers = withHost(stripHopByHop(req.rawHeaders, { keepUpgrade: !plainRequest }), authority ? hostValue(authority) : host);
  if (webSocket) headers = withoutWebSocketExtensions(headers, snap.vault);
  const sub = substituteRequestHead(snap.vault, { url: req.url ?? '/', rawHeaders: headers, host, tls: conn.tls });
  if (!sub.ok) {
    writeRawResponse(socket, 403, [BLOCKED_HEADER, '1'], secretBlockedText(method, host, sub.message));
    return done(403, { leak: sub.secret, reason: `secret-${sub.kind}` });
  }
  log.substituted = sub.substituted;

  const upReq = rt.upstream.request1(target, method, sub.url, sub.headers);
  const settle = watchUpgradeRequest(upReq, socket, host, conn.dest.port, (f) => {
    if (socket.writable) writeRawResponse(socket, f.status, [ERROR_HEADER, '1'], upstreamFailureText(method, host, f.message));
    done(f.status, { error: f.kind });
  });
  upReq.on('response', (upRes) => {
    // The upstream declined the upgrade: relay its plain response and close.
    settle();
    const status = upRes.statusCode ?? 502;
    const plan = planResponse(upRes.rawHeaders, status, method, snap.vault);
    if (!plan.ok) {
      upRes.destroy();
      writeRawResponse(socket, 502, [ERROR_HEADER, '1'], upstreamFailureText(method, host, plan.message));
      return done(502, { error: 'unscrubbable-encoding' });
    }
    const filtered = plan.headers.filter((_, i, all) => all[i - (i % 2)]!.toLowerCase() !== 'content-length');
    writeRawResponse(socket, status, [...filtered, 'connection', 'close']);
    pipeThroughTransforms(upRes, plan.transforms, socket);
    done(status);
  });
  upReq.on('upgrade', (upRes, upSocket, upHead) => {
    settle();
    // Hop-by-hop headers are dropped by the plan; a 101 needs Connection/Upgrade back.
    // Other upgraded protocols (Docker's attach, SPDY, custom streams) are byte streams: scrubbed
    // as a streamed body, so an upstream cannot echo a substituted value back after its 101.
    const scrub = webSocket
      ? webSocketServerScrub(snap.vault, upRes.headers['sec-websocket-extensions'])
      : snap.vault.hasScrubbableValues
        ? snap.vault.responseScrubTransform()
        : null;
    if (typeof scrub === 'string') {
      upSocket.destroy();
      writeRawResponse(socket, 502, [ERROR_HEADER, '1'], upstreamFailureText(method, host, scrub));
      return done(502, { error: 'protocol' });
    }
    const plan = planResponse(upRes.rawHeaders, 101, method, snap.vault);
    const kept = plan.ok ? plan.headers : [];
    writeRawResponse(socket, 101, [...kept, 'Connection', 'Upgrade', 'Upgrade', String(upRes.headers.upgrade ?? '')]);
    // Bytes the upstream sent right after its 101 are frames too: they go through the scrubber.
    if (upHead.length) (scrub ?? socket).write(upHead);
    if (head.length) upSocket.write(head);
    let bytes = 0;
    upSocket.on('data', (c: Buffer) => (bytes += c.length));
    relayDuplex(socket, upSocket, rt.idleTimeoutMs, (error) => done(101, { bytes, ...(error ? { error } : {}) }), scrub ?? undefined);
  });
  upReq.end();
}

/**
 * Relay two duplex streams both ways with backpressure until either closes; then close both.
 * `fromB` (optional) transforms what b sends before a gets it; its error closes both sides.
 */
export function relayDuplex(a: Duplex, b: Duplex, idleTimeoutMs: number, onClose?: (error?: string) => void, fromB?: Transform): void {
  let closed = false;
  const close = (err?: unknown) => {
    if (closed) return;
    closed = true;
    a.destroy();
    b.destroy();
    fromB?.destroy();
    onClose?.(fromB && err instanceof Error && !(err as NodeJS.ErrnoException).code ? err.message : undefined);
  };
  a.on('error', close);
  b.on('error', close);
  fromB?.on('error', close);
  a.on('close', close);
  // Let what the transform still holds reach a before both sides close.
  b.on('close', () => (fromB ? setImmediate(close) : close()));
  const setIdle = (s: Duplex) => {
    const t = s as Duplex & { setTimeout?: (ms: number, cb: () => void) => void };
    t.setTimeout?.(idleTimeoutMs, close);
  };
  setIdle(a);
  setIdle(b);
  a.pipe(b);
  if (fromB) b.pipe(fromB).pipe(a);
  else b.pipe(a);
}
