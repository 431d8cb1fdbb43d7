import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import tls, { type SecureContext } from 'node:tls';
import type { Logger } from '../../log.js';
import { formatHostForUrl } from '../http/authority.js';
import { UpstreamTimeoutError } from './failure.js';
import type { UpstreamTrust } from './trust.js';

/** Where a request goes: always the allowed host name, resolved by the proxy itself. */
export interface UpstreamTarget {
  host: string;
  port: number;
  tls: boolean;
  /** `upstream_ca` from the policy snapshot (selects the trust context). */
  upstreamCa: string | null;
}

const PROBE_TTL_MS = 10 * 60_000;
/** How long an unused pooled upstream socket may idle; servers usually close first (5-60 s). */
const FREE_SOCKET_TIMEOUT_MS = 30_000;
/**
 * Stream buffer threshold of upstream sockets (node's default is 16 KiB): lets a streamed body
 * move in batches of TLS records instead of one write and one pause/resume per 16 KiB piece.
 * A threshold, not an allocation; bodies are still streamed with backpressure, never held whole.
 */
const STREAM_HIGH_WATER_MARK = 256 * 1024;

/**
 * Pooled upstream connections: keep-alive HTTP/1.1 agents (one per trust context) and, for HTTP/2
 * clients, one h2 session per origin when the origin offers h2 by ALPN (probed once, cached).
 */
export class UpstreamClients {
  readonly #trust: UpstreamTrust;
  readonly #lookup: LookupFunction | undefined;
  readonly #logger: Logger;
  readonly #connectTimeoutMs: number;
  readonly #idleTimeoutMs: number;
  readonly #httpAgent: http.Agent;
  readonly #httpsAgents = new Map<string, https.Agent>();
  readonly #alpn = new Map<string, { proto: string; until: number }>();
  readonly #sessions = new Map<string, http2.ClientHttp2Session>();
  readonly #pendingSessions = new Map<string, Promise<http2.ClientHttp2Session | null>>();
  #closed = false;

  constructor(options: { trust: UpstreamTrust; lookup?: LookupFunction; logger: Logger; connectTimeoutMs: number; idleTimeoutMs: number }) {
    this.#trust = options.trust;
    this.#lookup = options.lookup;
    this.#logger = options.logger;
    this.#connectTimeoutMs = options.connectTimeoutMs;
    this.#idleTimeoutMs = options.idleTimeoutMs;
    this.#httpAgent = new http.Agent(this.#agentOptions());
  }

  #agentOptions(): http.AgentOptions & { lookup?: LookupFunction; highWaterMark: number } {
    return {
      keepAlive: true,
      keepAliveMsecs: 30_000,
      maxSockets: Infinity,
      maxFreeSockets: 1024,
      scheduling: 'lifo',
      timeout: FREE_SOCKET_TIMEOUT_MS,
      highWaterMark: STREAM_HIGH_WATER_MARK,
      ...(this.#lookup ? { lookup: this.#lookup } : {}),
    };
  }

  #secure(target: UpstreamTarget): { key: string; context: SecureContext } {
    return this.#trust.contextFor(target.upstreamCa);
  }

  #httpsAgent(target: UpstreamTarget): https.Agent {
    const { key, context } = this.#secure(target);
    let agent = this.#httpsAgents.get(key);
    if (!agent) {
      agent = new https.Agent({ ...this.#agentOptions(), secureContext: context, ALPNProtocols: ['http/1.1'] } as https.AgentOptions);
      this.#httpsAgents.set(key, agent);
    }
    return agent;
  }

  /**
   * An HTTP/1.1 request to `target`. The caller writes the body and listens for
   * 'response' / 'upgrade' / 'error'. Connect (DNS + TCP + TLS) is bounded by the connect timeout,
   * the rest by the idle timeout; both surface as UpstreamTimeoutError.
   */
  request1(target: UpstreamTarget, method: string, path: string, headers: string[]): http.ClientRequest {
    const isIpLiteral = target.host.includes(':') || /^\d+\.\d+\.\d+\.\d+$/.test(target.host);
    const options: https.RequestOptions = {
      host: target.host,
      port: target.port,
      method,
      path,
      headers: headers as unknown as http.OutgoingHttpHeaders,
      setHost: false,
      agent: target.tls ? this.#httpsAgent(target) : this.#httpAgent,
    };
    if (target.tls && !isIpLiteral) options.servername = target.host;
    const req = (target.tls ? https : http).request(options);
    req.setTimeout(this.#idleTimeoutMs, () => req.destroy(new UpstreamTimeoutError(`no data for ${Math.round(this.#idleTimeoutMs / 1000)} s`)));
    req.once('socket', (socket) => {
      if (!socket.connecting && !(target.tls && !(socket as tls.TLSSocket).encrypted)) return;
      const timer = setTimeout(() => req.destroy(new UpstreamTimeoutError(`connect took longer than ${this.#connectTimeoutMs} ms`)), this.#connectTimeoutMs);
      const clear = () => clearTimeout(timer);
      socket.once(target.tls ? 'secureConnect' : 'connect', clear);
      socket.once('close', clear);
    });
    return req;
  }

  /**
   * An h2 session to the origin if it speaks h2, else null (then use request1). The first call per
   * origin probes by ALPN; the answer is cached for ten minutes.
   */
  async session2(target: UpstreamTarget): Promise<http2.ClientHttp2Session | null> {
    const { key: trustKey, context } = this.#secure(target);
    const key = `${target.host}:${target.port}|${trustKey}`;
    const known = this.#alpn.get(key);
    if (known && known.until > Date.now() && known.proto !== 'h2') return null;
    const existing = this.#sessions.get(key);
    if (existing && !existing.closed && !existing.destroyed) return existing;
    let pending = this.#pendingSessions.get(key);
    if (!pending) {
      pending = this.#openSession(target, key, context).finally(() => this.#pendingSessions.delete(key));
      this.#pendingSessions.set(key, pending);
    }
    return pending;
  }

  #openSession(target: UpstreamTarget, key: string, context: SecureContext): Promise<http2.ClientHttp2Session | null> {
    return new Promise((resolve, reject) => {
      const isIpLiteral = target.host.includes(':') || /^\d+\.\d+\.\d+\.\d+$/.test(target.host);
      const socket = tls.connect({
        host: target.host,
        port: target.port,
        ...(isIpLiteral ? {} : { servername: target.host }),
        ALPNProtocols: ['h2', 'http/1.1'],
        secureContext: context,
        ...(this.#lookup ? { lookup: this.#lookup } : {}),
      });
      const timer = setTimeout(() => socket.destroy(new UpstreamTimeoutError(`connect took longer than ${this.#connectTimeoutMs} ms`)), this.#connectTimeoutMs);
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      socket.once('secureConnect', () => {
        clearTimeout(timer);
        const proto = socket.alpnProtocol || 'http/1.1';
        this.#alpn.set(key, { proto, until: Date.now() + PROBE_TTL_MS });
        if (proto !== 'h2' || this.#closed) {
          socket.destroy();
          resolve(null);
          return;
        }
        socket.removeAllListeners('error');
        const session = http2.connect(`https://${formatHostForUrl(target.host)}:${target.port}`, { createConnection: () => socket });
        session.on('error', (err) => this.#logger.debug({ host: target.host, err: err.message }, 'upstream h2 session error'));
        const forget = () => {
          if (this.#sessions.get(key) === session) this.#sessions.delete(key);
        };
        session.once('close', forget);
        session.once('goaway', forget);
        session.setTimeout(this.#idleTimeoutMs, () => session.close());
        this.#sessions.set(key, session);
        resolve(session);
      });
    });
  }

  destroy(): void {
    this.#closed = true;
    this.#httpAgent.destroy();
    for (const a of this.#httpsAgents.values()) a.destroy();
    for (const s of this.#sessions.values()) s.destroy();
    this.#sessions.clear();
  }
}
