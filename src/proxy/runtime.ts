import type { LookupFunction } from 'node:net';
import type { Logger } from '../log.js';
import type { LiveState } from '../daemon/live-state.js';
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

/** Every name a request claims: SNI, Host/:authority and the DNS names that led to the IP. */
export function claimedNames(rt: ProxyRuntime, conn: ConnectionContext, authorityHost: string | undefined): string[] {
  const names: string[] = [];
  if (conn.sni) names.push(conn.sni);
  // TLS without SNI names no host at the TLS layer: the IP must be allowed by a rule of its own.
  else if (conn.tls) names.push(conn.dest.address);
  if (authorityHost) names.push(authorityHost);
  for (const n of rt.attribution.namesFor(conn.client, conn.dest.address)) names.push(n);
  // Nothing named the destination: decide on the IP literal (allowed only if a rule names it).
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
