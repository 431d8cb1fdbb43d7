/**
 * The daemon's DNS server: UDP and TCP on the same port (nft redirects the agent's port 53 here,
 * whatever resolver address it used). Sockets only; every decision is in QueryHandler.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIPv6, type Server, type Socket } from 'node:net';
import type { PolicySnapshot } from '../daemon/live-state.js';
import type { Logger } from '../log.js';
import type { NameAttribution } from './attribution.js';
import { QueryHandler } from './query-handler.js';
import type { UpstreamResolver } from './upstream-resolver.js';

export interface DnsServerOptions {
  /** Listen address; `::` is dual-stack. */
  host: string;
  /** UDP and TCP port; 0 picks a free port (the same number for both). */
  port: number;
  state: { readonly current: PolicySnapshot };
  attribution: NameAttribution;
  resolver: UpstreamResolver;
  logger: Logger;
  /** A TCP connection with no complete query for this long is closed (ms, default 10,000; RFC 7766 §6.2.3). */
  tcpIdleTimeoutMs?: number;
  /** Open TCP connections, at most (default 256). */
  maxTcpConnections?: number;
}

export interface DnsServer {
  readonly udpPort: number;
  readonly tcpPort: number;
  /** Stop listening and close open TCP connections. Idempotent. */
  close(): Promise<void>;
}

/** A query larger than this over TCP closes the connection (real queries are < 600 bytes, RFC 8467 padding included). */
const MAX_TCP_QUERY = 4096;
/** Unanswered queries per TCP connection; beyond it the connection is closed. */
const MAX_TCP_PIPELINE = 128;

export async function startDnsServer(o: DnsServerOptions): Promise<DnsServer> {
  const log = o.logger.child({ component: 'dns' });
  const handler = new QueryHandler({ state: o.state, resolver: o.resolver, attribution: o.attribution, logger: log });
  const idleMs = o.tcpIdleTimeoutMs ?? 10_000;

  // With port 0, the UDP port is picked first and TCP must get the same number; retry if taken.
  for (let attempt = 0; ; attempt++) {
    const udp = await bindUdp(o.host, o.port, handler, log);
    const udpPort = udp.address().port;
    try {
      const tcp = await listenTcp(o.host, udpPort, handler, log, idleMs, o.maxTcpConnections ?? 256);
      log.info({ host: o.host, port: udpPort }, 'dns server listening (udp+tcp)');
      return makeHandle(udp, tcp.server, tcp.sockets, udpPort);
    } catch (err) {
      udp.close();
      if (o.port !== 0 || attempt >= 5 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    }
  }
}

function bindUdp(host: string, port: number, handler: QueryHandler, log: Logger): Promise<UdpSocket> {
  return new Promise((resolve, reject) => {
    const sock = createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4' });
    const onBindError = (err: Error): void => reject(err);
    sock.once('error', onBindError);
    sock.on('message', (msg, rinfo) => {
      try {
        handler.handle(msg, rinfo.address, 'udp', (resp) => {
          sock.send(resp, rinfo.port, rinfo.address, (err) => {
            if (err) log.debug({ err: err.message }, 'dns: udp send failed');
          });
        });
      } catch (err) {
        // A bug must cost one query, not the daemon.
        log.error({ err: (err as Error).message }, 'dns: query handler threw');
      }
    });
    sock.bind(port, host, () => {
      sock.off('error', onBindError);
      sock.on('error', (err) => log.warn({ err: err.message }, 'dns: udp socket error'));
      resolve(sock);
    });
  });
}

function listenTcp(host: string, port: number, handler: QueryHandler, log: Logger, idleMs: number, maxConnections: number): Promise<{ server: Server; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((sock) => serveTcp(sock, handler, idleMs, sockets));
  server.maxConnections = maxConnections;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      server.on('error', (err) => log.warn({ err: err.message }, 'dns: tcp server error'));
      resolve({ server, sockets });
    });
  });
}

/** RFC 7766: length-prefixed messages, several per connection, answered as they complete. */
function serveTcp(sock: Socket, handler: QueryHandler, idleMs: number, sockets: Set<Socket>): void {
  sockets.add(sock);
  sock.on('close', () => sockets.delete(sock));
  sock.on('error', () => sock.destroy());
  sock.setNoDelay(true);
  sock.setTimeout(idleMs, () => sock.destroy());
  const client = sock.remoteAddress ?? '';
  let pending: Buffer | null = null;
  let unanswered = 0;
  const reply = (resp: Buffer): void => {
    unanswered--;
    if (sock.destroyed) return;
    const frame = Buffer.allocUnsafe(2 + resp.length);
    frame.writeUInt16BE(resp.length, 0);
    resp.copy(frame, 2);
    sock.write(frame);
  };
  sock.on('data', (chunk: Buffer) => {
    pending = pending === null ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 2) {
      const len = pending.readUInt16BE(0);
      if (len < 12 || len > MAX_TCP_QUERY) {
        handler.malformed(client, 'tcp', `TCP frame of ${len} bytes; connection closed`);
        sock.destroy();
        return;
      }
      if (pending.length < 2 + len) break;
      const msg = pending.subarray(2, 2 + len);
      pending = pending.length === 2 + len ? null : pending.subarray(2 + len);
      if (++unanswered > MAX_TCP_PIPELINE) {
        handler.malformed(client, 'tcp', `more than ${MAX_TCP_PIPELINE} unanswered queries; connection closed`);
        sock.destroy();
        return;
      }
      try {
        handler.handle(msg, client, 'tcp', reply);
      } catch {
        sock.destroy();
        return;
      }
      if (pending === null) break;
    }
  });
}

function makeHandle(udp: UdpSocket, tcp: Server, sockets: Set<Socket>, port: number): DnsServer {
  let closing: Promise<void> | null = null;
  return {
    udpPort: port,
    tcpPort: port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        let left = 2;
        const done = (): void => {
          if (--left === 0) resolve();
        };
        udp.close(done);
        tcp.close(() => done());
        for (const s of sockets) s.destroy();
      });
      return closing;
    },
  };
}
