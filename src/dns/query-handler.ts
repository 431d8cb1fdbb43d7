/**
 * One agent query → one answer, whatever the transport. The order, which the code follows:
 *  1. parse; unreadable packets are dropped (rate-limited log), readable-but-wrong ones get
 *     FORMERR / NOTIMP / REFUSED;
 *  2. decide the name with the current policy (no method: DNS has none). Denied → REFUSED, and
 *     nothing at all is sent upstream;
 *  3. allowed but not servable: class other than IN → REFUSED; ANY, AXFR, IXFR → NOTIMP;
 *  4. `extra_hosts` → answered locally;
 *  5. cached upstream answer within its TTL → answered synchronously;
 *  6. else resolved upstream (shared in-flight per name and type), SERVFAIL on failure/timeout;
 *  7. A/AAAA addresses answered are recorded for attribution; one log line per lookup.
 */
import type { Logger } from '../log.js';
import type { PolicySnapshot } from '../daemon/live-state.js';
import { decide, type Decision } from '../policy/index.js';
import type { NameAttribution } from './attribution.js';
import { canonicalIp } from './ip.js';
import type { UpstreamResolver } from './upstream-resolver.js';
import {
  buildEmptyResponse,
  buildHeaderOnlyResponse,
  CLASSIC_UDP_SIZE,
  MAX_UDP_ANSWER,
  parseQuery,
  QCLASS_IN,
  QTYPE,
  RCODE,
  rcodeName,
  renderAnswer,
  typeName,
  type DnsAnswer,
  type ParsedQuery,
} from './wire.js';

export type Transport = 'udp' | 'tcp';
export type Reply = (response: Buffer) => void;

export interface QueryHandlerOptions {
  state: { readonly current: PolicySnapshot };
  resolver: UpstreamResolver;
  attribution: NameAttribution;
  logger: Logger;
}

/** Logs about unreadable packets: at most this many per window, then a count. */
const MALFORMED_LOGS_PER_WINDOW = 20;
const MALFORMED_WINDOW_MS = 10_000;
const MAX_TCP_ANSWER = 65535;

export class QueryHandler {
  readonly #state: QueryHandlerOptions['state'];
  readonly #resolver: UpstreamResolver;
  readonly #attribution: NameAttribution;
  readonly #log: Logger;
  #malformedWindowStart = 0;
  #malformedLogged = 0;
  #malformedSuppressed = 0;

  constructor(o: QueryHandlerOptions) {
    this.#state = o.state;
    this.#resolver = o.resolver;
    this.#attribution = o.attribution;
    this.#log = o.logger;
  }

  /** Answer `msg` from `clientAddress`; `reply` is called at most once, maybe synchronously. */
  handle(msg: Buffer, clientAddress: string, transport: Transport, reply: Reply): void {
    const parsed = parseQuery(msg);
    const client = canonicalIp(clientAddress);
    if (!parsed.ok) {
      if (parsed.kind === 'drop') return this.malformed(client, transport, parsed.reason);
      if (parsed.query) {
        // A readable question with a name we refuse to forward (odd characters): a lookup line.
        this.#logLookup(client, parsed.query, 'deny', null, parsed.rcode, parsed.reason);
        return reply(buildEmptyResponse(msg, parsed.query, parsed.rcode));
      }
      this.malformed(client, transport, parsed.reason);
      return reply(buildHeaderOnlyResponse(parsed.id, parsed.flags, parsed.rcode));
    }
    const q = parsed.query;
    const decision = decide(this.#state.current.policy, { host: q.name });
    if (decision.action === 'deny') {
      this.#logLookup(client, q, 'deny', decision, RCODE.REFUSED);
      return reply(buildEmptyResponse(msg, q, RCODE.REFUSED));
    }
    if (q.qclass !== QCLASS_IN) {
      this.#logLookup(client, q, 'allow', decision, RCODE.REFUSED, 'only class IN is served');
      return reply(buildEmptyResponse(msg, q, RCODE.REFUSED));
    }
    if (q.qtype === QTYPE.ANY || q.qtype === QTYPE.AXFR || q.qtype === QTYPE.IXFR) {
      this.#logLookup(client, q, 'allow', decision, RCODE.NOTIMP, 'ANY and zone transfers are not served');
      return reply(buildEmptyResponse(msg, q, RCODE.NOTIMP));
    }
    const maxSize = transport === 'tcp' ? MAX_TCP_ANSWER : q.udpSize > 0 ? Math.min(q.udpSize, MAX_UDP_ANSWER) : CLASSIC_UDP_SIZE;
    const now = Date.now();
    const ready = this.#resolver.local(q.name, q.qtype, now) ?? this.#resolver.cached(q.name, q.qtype, now);
    if (ready) return this.#answer(ready, msg, q, client, maxSize, decision, reply);
    this.#resolver.resolve(q.name, q.qtype).then(
      (answer) => this.#answer(answer, msg, q, client, maxSize, decision, reply),
      (err: Error) => {
        // resolve() does not reject; this is a bug guard so the client still gets an answer.
        this.#logLookup(client, q, 'allow', decision, RCODE.SERVFAIL, err.message);
        reply(buildEmptyResponse(msg, q, RCODE.SERVFAIL));
      },
    );
  }

  /** Log an unreadable packet, at most MALFORMED_LOGS_PER_WINDOW per window. */
  malformed(client: string, transport: Transport, reason: string): void {
    const now = Date.now();
    if (now - this.#malformedWindowStart >= MALFORMED_WINDOW_MS) {
      if (this.#malformedSuppressed > 0) this.#log.warn({ suppressed: this.#malformedSuppressed }, 'dns: malformed packets not logged in the last window');
      this.#malformedWindowStart = now;
      this.#malformedLogged = 0;
      this.#malformedSuppressed = 0;
    }
    if (this.#malformedLogged >= MALFORMED_LOGS_PER_WINDOW) {
      this.#malformedSuppressed++;
      return;
    }
    this.#malformedLogged++;
    this.#log.warn({ client, transport, reason }, 'dns: malformed packet dropped');
  }

  #answer(answer: DnsAnswer, msg: Buffer, q: ParsedQuery, client: string, maxSize: number, decision: Decision, reply: Reply): void {
    const now = Date.now();
    const response = renderAnswer(answer, msg, q, now, maxSize);
    if (answer.addresses.length > 0) {
      const left = answer.addressTtl - Math.floor((now - answer.receivedAt) / 1000);
      this.#attribution.record(client, q.name, answer.addresses, left > 0 ? left : 0);
    }
    this.#logLookup(client, q, 'allow', decision, answer.rcode, answer.error);
    reply(response);
  }

  #logLookup(client: string, q: ParsedQuery, decision: 'allow' | 'deny', d: Decision | null, rcode: number, note?: string): void {
    const rule = d?.rule ? { layer: d.rule.layer, index: d.rule.index } : null;
    if (note === undefined) this.#log.info({ client, name: q.name, type: typeName(q.qtype), decision, rule, rcode: rcodeName(rcode) }, 'dns lookup');
    else this.#log.info({ client, name: q.name, type: typeName(q.qtype), decision, rule, rcode: rcodeName(rcode), note }, 'dns lookup');
  }
}
