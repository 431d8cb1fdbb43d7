import http2 from 'node:http2';
import type { Socket } from 'node:net';
import type { ProxyRuntime } from '../runtime.js';
import type { ConnectionContext } from '../types.js';
import { handleHttp2Stream } from './handle-stream.js';

/**
 * HTTP/2 toward the agent (ALPN h2, or h2c prior knowledge on plain connections): one server
 * session per connection via http2.performServerHandshake; every stream is decided on its own.
 * Extended CONNECT (RFC 8441) is enabled so h2 clients can open WebSockets.
 */
export class Http2Front {
  readonly #rt: ProxyRuntime;
  readonly #sessions = new Set<http2.ServerHttp2Session>();

  constructor(rt: ProxyRuntime) {
    this.#rt = rt;
  }

  serve(socket: Socket, conn: ConnectionContext): void {
    const rt = this.#rt;
    const session = http2.performServerHandshake(socket, {
      settings: { enableConnectProtocol: true, maxConcurrentStreams: 256, initialWindowSize: 1 << 20 },
      maxSessionMemory: 64,
      maxHeaderListPairs: 256,
    });
    this.#sessions.add(session);
    session.once('close', () => this.#sessions.delete(session));
    session.on('error', (err) => {
      rt.logger.info({ conn: conn.id, client: conn.client, err: (err as NodeJS.ErrnoException).code ?? err.message }, 'HTTP/2 session error');
      session.destroy();
    });
    session.setTimeout(rt.idleTimeoutMs, () => session.close());
    // A bigger connection window so one slow stream does not stall the others.
    session.once('remoteSettings', () => {
      try {
        session.setLocalWindowSize(8 << 20);
      } catch {
        /* session already gone */
      }
    });
    session.on('stream', (stream, headers) => {
      if (rt.draining) session.close();
      try {
        handleHttp2Stream(rt, conn, stream, headers);
      } catch (err) {
        // A bug must cost one stream, never the daemon (and every agent's network with it).
        rt.logger.error({ conn: conn.id, err: (err as Error).message }, 'internal error handling an h2 stream; stream reset');
        if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      }
    });
  }

  /** Graceful: GOAWAY and let open streams finish. Forced: destroy every session. */
  close(force: boolean): void {
    for (const s of this.#sessions) {
      if (force) s.destroy();
      else s.close();
    }
  }
}
