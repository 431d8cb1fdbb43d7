import type { LookupFunction } from 'node:net';
import type { Logger } from '../log.js';
import type { LiveState } from '../daemon/live-state.js';
import type { CertificateAuthority } from './tls/certificate-authority.js';
import type { OriginalDestination, OriginalDestinationFn } from './original-destination.js';

/** Which DNS names the proxy's DNS server handed to a client for an IP (bounded by TTL). */
export interface Attribution {
  /** Both addresses are plain (no `::ffff:` prefix). Returns [] when nobody resolved `destIp`. */
  namesFor(clientIp: string, destIp: string): readonly string[];
}

export interface ProxyOptions {
  /** Listen address; default `::` (dual stack). */
  host?: string;
  /** Listen port; 0 picks a free one (tests). */
  port: number;
  state: LiveState;
  attribution: Attribution;
  /** The proxy's own name resolution for upstream connections; default dns.lookup. */
  lookup?: LookupFunction;
  ca: CertificateAuthority;
  logger: Logger;
  /** Idle timeout for both legs of a connection; default 600 s, never below 300 s. */
  idleTimeoutMs?: number;
  /** Extra PEM files trusted for upstream TLS (besides the system store, NODE_EXTRA_CA_CERTS and settings `upstream_ca`). */
  upstreamCaFiles?: readonly string[];
  /** Addresses of the proxy itself (tunnel addresses): connections to them are refused (loop guard). */
  selfAddresses?: readonly string[];
  /** Ports of the proxy's own listeners (proxy, DNS, admin): refused when the destination is a local address. */
  selfPorts?: readonly number[];
  /** Recovers where the agent meant to go; default SO_ORIGINAL_DST through koffi. Tests inject one. */
  originalDestination?: OriginalDestinationFn;
  /** How long to wait for a client's first bytes before treating it as server-first raw TCP; default 1000 ms. */
  sniffTimeoutMs?: number;
  /** How long an upstream connect (incl. DNS and TLS) may take; default 15 s, then 504. */
  connectTimeoutMs?: number;
}

export interface ProxyHandle {
  readonly port: number;
  /** Stop accepting, let in-flight requests finish (bounded), then close everything. Idempotent. */
  close(): Promise<void>;
  /** Drop every connection now. Idempotent. */
  destroy(): Promise<void>;
}

/** What one accepted connection is, as far as the proxy knows before any request on it. */
export interface ConnectionContext {
  readonly id: number;
  /** Client address, plain (no `::ffff:`). */
  readonly client: string;
  readonly clientPort: number;
  readonly dest: OriginalDestination;
  /** TLS terminated by us (false for plain HTTP). */
  tls: boolean;
  /** SNI from the ClientHello, lower-cased, when TLS. */
  sni: string | undefined;
}
