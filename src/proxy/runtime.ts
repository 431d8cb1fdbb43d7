import type { LookupFunction } from 'node:net';
import type { Logger } from '../log.js';
import type { LiveState } from '../daemon/live-state.js';
import { normalizeHost } from '../policy/index.js';
import type { CertificateAuthority } from './tls/certificate-authority.js';
import type { UpstreamClients } from './upstream/clients.js';
import type { Attribution, ConnectionContext } from './types.js';

/** What every protocol handler shares: policy state, upstream pools, the CA, logging. */
export interface ProxyRuntime {
  readonly state: LiveState;
  readonly attribution: Attribution;
  readonly lookup: LookupFunction | undefined;
  readonly ca: CertificateAuthority;
  readonly logger: Logger;
  readonly upstream: UpstreamClients;
  readonly idleTimeoutMs: number;
  readonly connectTimeoutMs: number;
  /** True once close() was called: finish what is in flight, keep nothing alive. */
  draining: boolean;
}

/**
 * Every name a request claims, for decideAll: the SNI, the Host/:authority and, when they do not
 * explain how the agent got this IP, the DNS names it resolved to that IP.
 *  1. SNI and Host/:authority always count (both must be allowed: no domain fronting).
 *  2. TLS without SNI adds the destination IP literal: allowed only if a rule names that IP.
 *  3. DNS names attributed to the destination IP count when none of them is a claimed name: the
 *     agent reached this IP through some other name, so that name must be allowed too. When the
 *     claimed name is among them, the others are just neighbours on a shared IP (CDNs) and are not
 *     consulted; the upstream is reached by the claimed name through the proxy's own resolution.
 *  4. Nothing named at all: the attributed names, else the IP literal.
 */
export function claimedNames(rt: ProxyRuntime, conn: ConnectionContext, authorityHost: string | undefined): string[] {
  const names: string[] = [];
  if (conn.sni) names.push(conn.sni);
  // TLS without SNI names no host at the TLS layer: the IP must be allowed by a rule of its own.
  else if (conn.tls) names.push(conn.dest.address);
  if (authorityHost) names.push(authorityHost);
  const attributed = rt.attribution.namesFor(conn.client, conn.dest.address);
  if (attributed.length > 0 && !attributed.some((a) => names.includes(normalizeHost(a)))) names.push(...attributed);
  if (names.length === 0) names.push(conn.dest.address);
  return names;
}

/** `layer[index]` of a decision's rule for logs (cheap, no values). */
export function ruleTag(rule: { layer: string; index: number } | null): string | null {
  return rule ? `${rule.layer}[${rule.index}]` : null;
}

let nextId = 1;
export function nextConnectionId(): number {
  return nextId++;
}
