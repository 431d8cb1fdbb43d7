import dns from 'node:dns';
import net from 'node:net';
import { Http1Front } from './http1/http1-front.js';
import { Http2Front } from './http2/http2-front.js';
import { plainAddress, soOriginalDestination, type OriginalDestination } from './original-destination.js';
import { nextConnectionId, type ProxyRuntime } from './runtime.js';
import { sniff, type Sniffed } from './sniff.js';
import { handleRawTcp } from './tcp/relay.js';
import { handleTls } from './tls/tls-front.js';
import type { ConnectionContext, ProxyHandle, ProxyOptions } from './types.js';
import { UpstreamClients } from './upstream/clients.js';
import { UpstreamTrust } from './upstream/trust.js';

export type { ProxyHandle, ProxyOptions, Attribution, ConnectionContext } from './types.js';

const MIN_IDLE_TIMEOUT_MS = 300_000;
const DEFAULT_IDLE_TIMEOUT_MS = 600_000;
const DRAIN_TIMEOUT_MS = 10_000;

/**
 * The interception engine: one dual-stack TCP listener that every redirected agent connection
 * reaches. Per connection: recover the original destination, refuse loops to ourselves, sniff the
 * first bytes, then TLS (terminate or pass through), HTTP/1.x, HTTP/2 or raw TCP.
 */
export async function startProxy(opts: ProxyOptions): Promise<ProxyHandle> {
  const logger = opts.logger.child({ component: 'proxy' });
  const idleTimeoutMs = Math.max(opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS, MIN_IDLE_TIMEOUT_MS);
  if (opts.idleTimeoutMs !== undefined && opts.idleTimeoutMs < MIN_IDLE_TIMEOUT_MS) {
    logger.warn({ requested: opts.idleTimeoutMs }, `idle timeout raised to ${MIN_IDLE_TIMEOUT_MS / 1000} s so long-lived streams are not cut`);
  }
  const connectTimeoutMs = opts.connectTimeoutMs ?? 15_000;
  const lookup = opts.lookup ?? (dns.lookup as unknown as net.LookupFunction);
  const rt: ProxyRuntime = {
    state: opts.state,
    attribution: opts.attribution,
    lookup,
    ca: opts.ca,
    logger,
    upstream: new UpstreamClients({ trust: new UpstreamTrust(opts.upstreamCaFiles ?? [], logger), lookup, logger, connectTimeoutMs, idleTimeoutMs }),
    idleTimeoutMs,
    connectTimeoutMs,
    draining: false,
  };
  const http1 = new Http1Front(rt);
  const http2 = new Http2Front(rt);
  const originalDestination = opts.originalDestination ?? soOriginalDestination;
  const sniffTimeoutMs = opts.sniffTimeoutMs ?? 1000;
  const selfAddresses = new Set((opts.selfAddresses ?? []).map((a) => plainAddress(a)));
  const selfPorts = new Set(opts.selfPorts ?? []);
  const sockets = new Set<net.Socket>();

  const isSelf = (dest: OriginalDestination, socket: net.Socket): boolean => {
    if (selfAddresses.has(dest.address)) return true;
    const local = plainAddress(socket.localAddress);
    if (dest.address === local && dest.port === socket.localPort) return true;
    if (selfPorts.has(dest.port) && (dest.address === local || dest.address === '127.0.0.1' || dest.address === '::1' || dest.address === '0.0.0.0' || dest.address === '::')) return true;
    return false;
  };

  const onConnection = (socket: net.Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setNoDelay(true);
    socket.setTimeout(idleTimeoutMs, () => socket.destroy());
    if (rt.draining) return void socket.destroy();
    let dest: OriginalDestination;
    try {
      dest = originalDestination(socket);
    } catch (err) {
      logger.warn({ client: socket.remoteAddress, err: (err as Error).message }, 'no original destination for the connection; reset');
      return void socket.resetAndDestroy();
    }
    const conn: ConnectionContext = {
      id: nextConnectionId(),
      client: plainAddress(socket.remoteAddress),
      clientPort: socket.remotePort ?? 0,
      dest: { address: plainAddress(dest.address), port: dest.port },
      tls: false,
      sni: undefined,
    };
    if (isSelf(conn.dest, socket)) {
      logger.warn({ conn: conn.id, client: conn.client, dest: conn.dest.address, port: conn.dest.port }, 'connection to the proxy itself refused (loop guard)');
      return void socket.resetAndDestroy();
    }
    void sniff(socket, sniffTimeoutMs).then((s) => {
      if (socket.destroyed) return;
      dispatch(conn, socket, s);
    });
  };

  /**
   * Hand a sniffed connection to its handler. Raw TCP may come back here once: a client that was
   * silent past the sniff timeout and then starts TLS or HTTP is intercepted like any other.
   */
  const dispatch = (conn: ConnectionContext, socket: net.Socket, s: Sniffed): void => {
    switch (s.kind) {
      case 'closed':
        socket.destroy();
        return;
      case 'tls':
        handleTls(rt, conn, socket, s.hello, s.data, {
          http1: (tlsSocket, c) => http1.serve(tlsSocket, c),
          http2: (tlsSocket, c) => http2.serve(tlsSocket, c),
        });
        return;
      case 'bad-tls':
        logger.info({ conn: conn.id, client: conn.client, dest: conn.dest.address, port: conn.dest.port, reason: s.reason }, 'malformed TLS ClientHello; closed');
        socket.destroy();
        return;
      case 'http':
        socket.unshift(s.data);
        http1.serve(socket, conn);
        socket.resume();
        return;
      case 'h2c':
        // The session reads the unshifted preface from the socket's buffer itself; resuming the
        // socket here would emit it to nobody.
        socket.unshift(s.data);
        http2.serve(socket, conn);
        return;
      case 'tcp':
        handleRawTcp(rt, conn, socket, s.data.length ? s.data : null, (late) => dispatch(conn, socket, late));
        return;
    }
  };

  const listener = net.createServer({ allowHalfOpen: true, pauseOnConnect: false }, onConnection);
  listener.maxConnections = 100_000;
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen({ host: opts.host ?? '::', port: opts.port, ipv6Only: false, backlog: 4096 }, () => {
      listener.off('error', reject);
      resolve();
    });
  });
  listener.on('error', (err) => logger.error({ err: err.message }, 'proxy listener error'));
  const port = (listener.address() as net.AddressInfo).port;
  logger.info({ port, idleTimeoutMs }, 'proxy listening');

  let closing: Promise<void> | null = null;
  let destroying: Promise<void> | null = null;
  /** No new connections or requests; `force` destroys the h2 sessions instead of a graceful GOAWAY. */
  const stopAccepting = (force: boolean): void => {
    rt.draining = true;
    listener.close();
    http1.close();
    http2.close(force);
  };
  const destroy = (): Promise<void> =>
    (destroying ??= (async () => {
      stopAccepting(true);
      for (const s of sockets) s.destroy();
      rt.upstream.destroy();
    })());
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      stopAccepting(false);
      const deadline = Date.now() + DRAIN_TIMEOUT_MS;
      while (sockets.size > 0 && Date.now() < deadline) {
        http1.server.closeIdleConnections();
        await new Promise((r) => setTimeout(r, 50));
      }
      await destroy();
    })());

  return { port, close, destroy };
}
