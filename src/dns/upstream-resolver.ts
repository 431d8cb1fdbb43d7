/**
 * The proxy's own DNS resolution. Two users:
 *  - the DNS server forwards allowed agent queries here (any type) and relays the answer;
 *  - the proxy resolves the allowed host name here before connecting upstream (`lookup`), so it
 *    never connects to whatever IP the agent dialled.
 *
 * Servers: `dns_servers` from the current settings if it lists any, else the system resolver
 * (`/etc/resolv.conf`). Settings are read from the LiveState on every query, so a reload applies
 * to the next one; the cache is flushed when the server list changes. `extra_hosts` names are
 * answered locally.
 */
import { randomInt } from 'node:crypto';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import type { PolicySnapshot } from '../daemon/live-state.js';
import { normalizeHost } from '../policy/index.js';
import { AnswerCache } from './answer-cache.js';
import { canonicalIp, ipToBytes } from './ip.js';
import { parseServer, systemServers, type ServerAddress } from './servers.js';
import { tcpExchange, udpExchange } from './transport.js';
import {
  analyzeResponse,
  buildQuery,
  encodeName,
  isTruncated,
  matchesQuery,
  QTYPE,
  RCODE,
  rcodeName,
  syntheticAddressAnswer,
  syntheticEmptyAnswer,
  type DnsAnswer,
} from './wire.js';

export interface UpstreamResolverOptions {
  /**
   * Port for servers given without one (default 53). `dns_servers` entries are bare IPs, so this
   * is how a lab or test points them at a server on another port. Entries of `systemServers`
   * may also carry their own port: `1.2.3.4:5300`, `[::1]:5300`.
   */
  port?: number;
  /** Servers used when settings name none (default: `/etc/resolv.conf`'s nameservers). */
  systemServers?: readonly string[];
  /** resolv.conf to read when `systemServers` is not given. Re-read every 30 s. */
  resolvConf?: string;
  /** Wait per attempt (ms, default 1000). */
  timeoutMs?: number;
  /** Rounds over the server list while servers time out (default 2). */
  attempts?: number;
  /** Cap on one resolution, all attempts included (ms, default 4000): past it, SERVFAIL. */
  totalTimeoutMs?: number;
  /** Cached answers, at most (default 10,000). */
  cacheEntries?: number;
  /** Positive answers are cached for their TTL, at most this long (s, default 3600). */
  maxCacheTtl?: number;
  /** NXDOMAIN / NODATA are cached for the SOA's negative TTL, at most this long (s, default 300). */
  maxNegativeTtl?: number;
  /** TTL of `extra_hosts` answers (s, default 60; they change only on reload). */
  extraHostsTtl?: number;
  /**
   * Distinct upstream resolutions in flight, at most (default 1024). Beyond it new ones get
   * SERVFAIL at once: a flood of random allowed subdomains against a slow upstream must not
   * exhaust sockets or memory.
   */
  maxInflight?: number;
}

/** What the resolver reads from the live state: the settings, fresh on every query. */
export interface ResolverStateSource {
  readonly current: Pick<PolicySnapshot, 'settings'>;
}

export interface ResolverStats {
  /** Queries sent to upstream servers (UDP and TCP attempts). */
  upstreamQueries: number;
  cacheHits: number;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

const SYSTEM_REFRESH_MS = 30_000;

export class UpstreamResolver {
  readonly #state: ResolverStateSource;
  readonly #port: number;
  readonly #systemList: readonly string[] | undefined;
  readonly #resolvConf: string;
  readonly #timeoutMs: number;
  readonly #attempts: number;
  readonly #totalTimeoutMs: number;
  readonly #analyze: { maxCacheTtl: number; maxNegativeTtl: number };
  readonly #extraHostsTtl: number;
  readonly #cache: AnswerCache;
  readonly #inflight = new Map<number, Map<string, Promise<DnsAnswer>>>();
  #inflightCount = 0;
  readonly #maxInflight: number;
  /** The settings list the current servers came from (identity), or null for the system's. */
  #serversFrom: readonly string[] | null | undefined = undefined;
  #serversKey = '';
  #servers: ServerAddress[] = [];
  #systemReadAt = 0;
  readonly stats: ResolverStats = { upstreamQueries: 0, cacheHits: 0 };

  constructor(state: ResolverStateSource, options: UpstreamResolverOptions = {}) {
    this.#state = state;
    this.#port = options.port ?? 53;
    this.#systemList = options.systemServers;
    this.#resolvConf = options.resolvConf ?? '/etc/resolv.conf';
    this.#timeoutMs = options.timeoutMs ?? 1000;
    this.#attempts = Math.max(1, options.attempts ?? 2);
    this.#totalTimeoutMs = options.totalTimeoutMs ?? 4000;
    this.#analyze = { maxCacheTtl: options.maxCacheTtl ?? 3600, maxNegativeTtl: options.maxNegativeTtl ?? 300 };
    this.#extraHostsTtl = options.extraHostsTtl ?? 60;
    this.#cache = new AnswerCache(options.cacheEntries ?? 10_000);
    this.#maxInflight = options.maxInflight ?? 1024;
  }

  /** The servers the next query will use. */
  servers(): readonly ServerAddress[] {
    this.#refreshServers(Date.now());
    return this.#servers;
  }

  /** A cached upstream answer still within its TTL, without any IO. The server's hot path. */
  cached(name: string, qtype: number, now = Date.now()): DnsAnswer | undefined {
    this.#refreshServers(now);
    const hit = this.#cache.get(qtype, name, now);
    if (hit) this.stats.cacheHits++;
    return hit;
  }

  /**
   * The `extra_hosts` answer for `name`, or null when it is not an extra host. A or AAAA by the
   * address family; any other type (or the other family) gets NODATA.
   */
  local(name: string, qtype: number, now = Date.now()): DnsAnswer | null {
    const extra = this.#state.current.settings.extraHosts;
    if (!Object.hasOwn(extra, name)) return null;
    const ip = extra[name]!;
    const nameWire = encodeName(name);
    const family = isIP(ip);
    if ((qtype === QTYPE.A && family === 4) || (qtype === QTYPE.AAAA && family === 6)) {
      return syntheticAddressAnswer(nameWire, qtype, ipToBytes(ip)!, canonicalIp(ip), this.#extraHostsTtl, now);
    }
    return syntheticEmptyAnswer(nameWire, qtype, RCODE.NOERROR, now);
  }

  /**
   * Resolve (name, type) upstream: cache, then one shared in-flight exchange per (name, type).
   * Never rejects: failures come back as a SERVFAIL answer carrying `error`. `name` must be
   * normalised (lower case, no trailing dot). Does not consult `extra_hosts`; see `local`.
   */
  resolve(name: string, qtype: number): Promise<DnsAnswer> {
    const now = Date.now();
    const hit = this.cached(name, qtype, now);
    if (hit) return Promise.resolve(hit);
    let byName = this.#inflight.get(qtype);
    if (!byName) {
      byName = new Map();
      this.#inflight.set(qtype, byName);
    }
    const running = byName.get(name);
    if (running) return running;
    if (this.#inflightCount >= this.#maxInflight) {
      return Promise.resolve(syntheticEmptyAnswer(nameWireOrRoot(name), qtype, RCODE.SERVFAIL, now, `more than ${this.#maxInflight} upstream lookups in flight`));
    }
    this.#inflightCount++;
    const servers = this.#servers;
    const p = this.#exchange(name, qtype, servers)
      .then((answer) => {
        // Cache only if the server list did not change meanwhile (a reload flushed the cache).
        if (this.#servers === servers) this.#cache.set(qtype, name, answer);
        return answer;
      })
      .finally(() => {
        this.#inflightCount--;
        byName!.delete(name);
      });
    byName.set(name, p);
    return p;
  }

  /** Forget cached answers (tests, or a caller that knows upstream data changed). */
  flush(): void {
    this.#cache.clear();
  }

  /**
   * Addresses for a host name through the same servers, `extra_hosts` first. `family` 4 or 6
   * asks for one type; 0 asks for both (IPv4 first). Rejects with a node-style error:
   * `ENOTFOUND` (no such name or no address), `ESERVFAIL` (upstream failed or timed out).
   */
  async lookupAddresses(hostname: string, family: 0 | 4 | 6 = 0, all = true): Promise<LookupAddress[]> {
    const name = normalizeHost(hostname);
    const literal = isIP(name);
    if (literal) return [{ address: name, family: literal }];
    const extra = this.#state.current.settings.extraHosts;
    if (Object.hasOwn(extra, name)) {
      const ip = extra[name]!;
      const f = isIP(ip);
      if (family !== 0 && f !== family) throw lookupError('ENOTFOUND', hostname, `extra_hosts maps ${name} to an IPv${f} address`);
      return [{ address: ip, family: f }];
    }
    try {
      encodeName(name);
    } catch {
      throw lookupError('ENOTFOUND', hostname, 'not a valid host name');
    }
    const types = family === 4 ? [QTYPE.A] : family === 6 ? [QTYPE.AAAA] : [QTYPE.A, QTYPE.AAAA];
    const answers: DnsAnswer[] = [];
    if (all) answers.push(...(await Promise.all(types.map((t) => this.resolve(name, t)))));
    else {
      for (const t of types) {
        const a = await this.resolve(name, t);
        answers.push(a);
        if (a.addresses.length > 0) break;
      }
    }
    const out: LookupAddress[] = [];
    for (let i = 0; i < answers.length; i++) {
      const f = types[i] === QTYPE.AAAA ? 6 : 4;
      for (const address of answers[i]!.addresses) out.push({ address, family: f });
    }
    if (out.length > 0) return out;
    const failed = answers.find((a) => a.rcode !== RCODE.NOERROR && a.rcode !== RCODE.NXDOMAIN);
    if (failed) throw lookupError('ESERVFAIL', hostname, failed.error ?? `upstream answered ${rcodeName(failed.rcode)}`);
    throw lookupError('ENOTFOUND', hostname, answers.some((a) => a.rcode === RCODE.NXDOMAIN) ? 'no such name' : 'no address records');
  }

  /**
   * `lookup` for `net.connect` / `tls.connect` / `http.request`: honours `family` and `all`
   * (node's happy-eyeballs path asks with `all: true`). Bound, so it can be passed as is.
   */
  readonly lookup = (hostname: string, options: LookupOptions | number | LookupCallback, callback?: LookupCallback): void => {
    let opts: LookupOptions;
    if (typeof options === 'function') {
      callback = options;
      opts = {};
    } else if (typeof options === 'number') opts = { family: options };
    else opts = options ?? {};
    const cb = callback!;
    const fam = opts.family === 'IPv4' ? 4 : opts.family === 'IPv6' ? 6 : opts.family === 4 || opts.family === 6 ? opts.family : 0;
    const all = opts.all === true;
    this.lookupAddresses(hostname, fam, all).then(
      (list) => {
        if (all) cb(null, list);
        else cb(null, list[0]!.address, list[0]!.family);
      },
      (err: NodeJS.ErrnoException) => cb(err, all ? [] : '', undefined),
    );
  };

  #refreshServers(now: number): void {
    const fromSettings = this.#state.current.settings.dnsServers;
    const useSettings = fromSettings !== null && fromSettings.length > 0;
    if (useSettings ? fromSettings === this.#serversFrom : this.#serversFrom === null && now - this.#systemReadAt < SYSTEM_REFRESH_MS) return;
    // An empty dns_servers list (every entry dropped as invalid) falls back to the system resolver.
    const texts = useSettings ? fromSettings : (this.#systemList ?? systemServers(this.#resolvConf));
    if (!useSettings) this.#systemReadAt = now;
    this.#serversFrom = useSettings ? fromSettings : null;
    const parsed = texts.map((t) => parseServer(t, this.#port)).filter((s): s is ServerAddress => s !== null);
    const key = parsed.map((s) => `${s.host}#${s.port}`).join(',');
    if (key !== this.#serversKey) {
      this.#serversKey = key;
      this.#servers = parsed;
      this.#cache.clear(); // answers from other servers may differ (split horizon)
    }
  }

  async #exchange(name: string, qtype: number, servers: readonly ServerAddress[]): Promise<DnsAnswer> {
    let nameWire: Buffer;
    try {
      nameWire = encodeName(name);
    } catch (err) {
      return syntheticEmptyAnswer(Buffer.from([0]), qtype, RCODE.SERVFAIL, Date.now(), (err as Error).message);
    }
    if (servers.length === 0) return syntheticEmptyAnswer(nameWire, qtype, RCODE.SERVFAIL, Date.now(), 'no upstream DNS servers configured');
    const deadline = Date.now() + this.#totalTimeoutMs;
    let lastError = 'no answer';
    for (let round = 0; round < this.#attempts; round++) {
      let anyTransportFailure = false;
      for (const server of servers) {
        const remaining = deadline - Date.now();
        if (remaining <= 0) return syntheticEmptyAnswer(nameWire, qtype, RCODE.SERVFAIL, Date.now(), `${lastError}; gave up after ${this.#totalTimeoutMs} ms`);
        const id = randomInt(0, 0x10000);
        const query = buildQuery(id, nameWire, qtype);
        const accept = (resp: Buffer): boolean => matchesQuery(resp, id, nameWire, qtype);
        const where = `${server.host}:${server.port}`;
        let resp: Buffer;
        try {
          this.stats.upstreamQueries++;
          resp = await udpExchange(server, query, Math.min(this.#timeoutMs, remaining), accept);
          if (isTruncated(resp)) {
            this.stats.upstreamQueries++;
            resp = await tcpExchange(server, query, Math.max(1, Math.min(this.#timeoutMs * 2, deadline - Date.now())), accept);
          }
        } catch (err) {
          anyTransportFailure = true;
          lastError = (err as Error).message;
          continue;
        }
        let answer: DnsAnswer;
        try {
          answer = analyzeResponse(resp, qtype, Date.now(), this.#analyze);
        } catch (err) {
          lastError = `malformed answer from ${where}: ${(err as Error).message}`;
          continue;
        }
        if (answer.rcode !== RCODE.NOERROR && answer.rcode !== RCODE.NXDOMAIN) {
          // SERVFAIL, REFUSED, …: another server may do better. An upstream REFUSED is never
          // relayed as such: the agent would read it as a policy denial.
          lastError = `${where} answered ${rcodeName(answer.rcode)}`;
          continue;
        }
        return answer;
      }
      if (!anyTransportFailure) break; // every server answered (badly): more rounds won't help
    }
    return syntheticEmptyAnswer(nameWire, qtype, RCODE.SERVFAIL, Date.now(), lastError);
  }
}

function nameWireOrRoot(name: string): Buffer {
  try {
    return encodeName(name);
  } catch {
    return Buffer.from([0]);
  }
}

function lookupError(code: 'ENOTFOUND' | 'ESERVFAIL', hostname: string, detail: string): NodeJS.ErrnoException & { hostname: string } {
  const err = new Error(`lookup ${code} ${hostname}: ${detail}`) as NodeJS.ErrnoException & { hostname: string };
  err.code = code;
  err.syscall = 'lookup';
  err.hostname = hostname;
  return err;
}
