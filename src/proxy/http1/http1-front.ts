import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ProxyRuntime } from '../runtime.js';
import type { ConnectionContext } from '../types.js';
import { BLOCKED_HEADER, ERROR_HEADER, upstreamFailureText } from '../http/messages.js';
import { handleHttp1Request } from './handle-request.js';
import { handleHttp1Upgrade, writeRawResponse } from './handle-upgrade.js';

/** Biggest request head accepted (node's default is 16 KiB; big cookies and JWTs exceed it). */
export const MAX_HEADER_BYTES = 64 * 1024;
/** Slow-loris bound: the whole request head must arrive within this. */
export const HEADERS_TIMEOUT_MS = 30_000;

/**
 * One node:http server, never listening: decrypted TLS sockets and plain-HTTP sockets are handed
 * to it with `emit('connection')`, so node's parser, keep-alive and backpressure do the HTTP work.
 */
export class Http1Front {
  readonly server: http.Server;
  readonly #contexts = new WeakMap<Duplex, ConnectionContext>();

  constructor(rt: ProxyRuntime) {
    const server = http.createServer({
      maxHeaderSize: MAX_HEADER_BYTES,
      headersTimeout: HEADERS_TIMEOUT_MS,
      // Uploads and long polls may take long; the idle timeout below bounds a stalled one.
      requestTimeout: 0,
      keepAliveTimeout: rt.idleTimeoutMs,
      connectionsCheckingInterval: 5_000,
    });
    server.timeout = rt.idleTimeoutMs;
    const ctx = (socket: Duplex) => this.#contexts.get(socket)!;
    // A bug must cost one request or connection, never the daemon (and every agent's network with it).
    const internalError = (conn: number, socket: Duplex, err: unknown) => {
      rt.logger.error({ conn, err: (err as Error)?.message ?? String(err) }, 'internal error handling an HTTP/1 request; connection closed');
      socket.destroy();
    };
    const onRequest = (req: IncomingMessage, res: ServerResponse, expectContinue: boolean) => {
      const c = ctx(req.socket);
      handleHttp1Request(rt, c, req, res, expectContinue).catch((err: unknown) => {
        if (res.headersSent || res.destroyed) return internalError(c.id, req.socket, err);
        rt.logger.error({ conn: c.id, err: (err as Error)?.message ?? String(err) }, 'internal error handling an HTTP/1 request; answered 502');
        res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8', connection: 'close', [ERROR_HEADER]: '1' });
        res.end(upstreamFailureText(req.method ?? 'GET', c.sni ?? c.dest.address, 'internal proxy error'));
      });
    };
    server.on('request', (req, res) => onRequest(req, res, false));
    server.on('checkContinue', (req, res) => onRequest(req, res, true));
    server.on('checkExpectation', (_req, res) => {
      res.writeHead(417, { 'content-type': 'text/plain', connection: 'close' });
      res.end('sandcat: only "Expect: 100-continue" is supported\n');
    });
    server.on('upgrade', (req, socket, head) => {
      const c = ctx(req.socket);
      try {
        handleHttp1Upgrade(rt, c, req, socket, head);
      } catch (err) {
        internalError(c.id, socket, err);
      }
    });
    server.on('connect', (req, socket) => {
      writeRawResponse(socket, 405, [BLOCKED_HEADER, '1'], 'sandcat intercepts connections transparently and is not a forward proxy; unset HTTP_PROXY/HTTPS_PROXY.\n');
      const c = ctx(req.socket);
      rt.logger.info({ conn: c?.id, client: c?.client, method: 'CONNECT', decision: 'deny', status: 405 }, 'request');
    });
    const answered = new WeakSet<Duplex>();
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      // The parser may report again as more bytes arrive; answer once.
      if (answered.has(socket)) return;
      answered.add(socket);
      const c = this.#contexts.get(socket);
      rt.logger.info({ conn: c?.id, client: c?.client, err: err.code ?? err.message }, 'malformed or abandoned HTTP request');
      if (err.code === 'ECONNRESET' || !socket.writable) return socket.destroy();
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
      writeRawResponse(socket, status, [BLOCKED_HEADER, '1'], `sandcat: ${status === 431 ? 'request headers too large' : status === 408 ? 'request head took too long' : 'malformed HTTP request'}\n`);
      // Keep reading (and discarding) briefly so the client gets the answer rather than a reset.
      socket.removeAllListeners('data');
      socket.on('data', () => {});
      socket.resume();
      setTimeout(() => socket.destroy(), 2000).unref();
    });
    // headersTimeout and the idle-connection sweep only run once the server "listens"; it never
    // binds a port, so start that machinery by hand.
    server.emit('listening');
    this.server = server;
  }

  /** Serve HTTP/1.x on a (decrypted or plain) socket. Bytes already read must be unshifted first. */
  serve(socket: Socket, conn: ConnectionContext): void {
    this.#contexts.set(socket, conn);
    this.server.emit('connection', socket);
  }

  close(): void {
    this.server.closeIdleConnections();
    // Stop the sweep interval started by 'listening'.
    this.server.close(() => {});
  }
}
