import type { Readable } from 'node:stream';
import type { PolicySnapshot } from '../../daemon/live-state.js';
import { decideAll, type Decision } from '../../policy/index.js';
import { substituteRequestHead } from '../../secrets/index.js';
import { claimedNames, ruleTag, type ProxyRuntime } from '../runtime.js';
import type { ConnectionContext } from '../types.js';
import type { UpstreamTarget } from '../upstream/clients.js';
import { BLOCKED_HEADER, policyDeniedText, secretBlockedText, uncheckableBodyText } from './messages.js';
import { prepareBody } from './request-body.js';
import { limitAcceptEncodingIn } from './response-headers.js';

/** One log line per request; fields are names and counts, never values. */
export interface RequestLog {
  conn: number;
  client: string;
  proto: string;
  method: string;
  host: string;
  path: string;
  decision: 'allow' | 'deny';
  rule: string | null;
  reason?: string;
  status: number;
  substituted: string[];
  leak: string | null;
  bytes: number;
  ms: number;
  error?: string;
}

/** A response sandcat writes itself (403, 415, …). */
export interface Refusal {
  status: number;
  text: string;
  header: string;
  extra: Partial<RequestLog>;
}

export type Decided = { ok: true; decision: Decision; target: UpstreamTarget } | { ok: false; refusal: Refusal };

/**
 * Decide a request on every name it claims (SNI, Host/:authority, DNS names for the IP) with its
 * method and the destination port. The upstream target is the Host name (else SNI, else the DNS
 * name, else the IP literal a rule allowed), always resolved by the proxy itself.
 */
export function decideRequest(rt: ProxyRuntime, snap: PolicySnapshot, conn: ConnectionContext, method: string, authorityHost: string | undefined, log: RequestLog): Decided {
  const names = claimedNames(rt, conn, authorityHost);
  const decision = decideAll(snap.policy, names, method, conn.dest.port);
  log.decision = decision.action;
  log.rule = ruleTag(decision.rule);
  log.reason = decision.reason;
  if (decision.action === 'deny') {
    return { ok: false, refusal: { status: 403, text: policyDeniedText(method, log.host, decision), header: BLOCKED_HEADER, extra: {} } };
  }
  const target: UpstreamTarget = {
    host: authorityHost ?? conn.sni ?? names.find((n) => n !== conn.dest.address) ?? conn.dest.address,
    port: conn.dest.port,
    tls: conn.tls,
    upstreamCa: snap.settings.upstreamCa,
  };
  log.host = target.host;
  return { ok: true, decision, target };
}

export type PreparedRequest =
  | { ok: true; url: string; headers: string[]; body: Readable | Buffer | null; contentLength: number | undefined; bodyChanged: boolean; substituted: Set<string> }
  | { ok: false; refusal: Refusal }
  | { ok: false; aborted: Error };

/**
 * Secrets for one allowed request: substitute the URL and headers (403 on a leak or in
 * cleartext), limit Accept-Encoding so responses stay scrubbable, then check the body through
 * its first BODY_GATE_BYTES before anything goes upstream. `beforeBody` runs once the head is
 * allowed (100-continue).
 */
export async function prepareRequest(
  snap: PolicySnapshot,
  conn: ConnectionContext,
  target: UpstreamTarget,
  method: string,
  url: string,
  headers: string[],
  body: { source: Readable; contentEncoding: string | undefined; contentLength: number | undefined } | null,
  log: RequestLog,
  beforeBody?: () => void,
): Promise<PreparedRequest> {
  const head = substituteRequestHead(snap.vault, { url, rawHeaders: headers, host: target.host, tls: conn.tls });
  if (!head.ok) {
    body?.source.resume();
    log.leak = head.secret;
    return { ok: false, refusal: { status: 403, text: secretBlockedText(method, target.host, head.message), header: BLOCKED_HEADER, extra: { reason: `secret-${head.kind}` } } };
  }
  const substituted = new Set(head.substituted);
  log.substituted = head.substituted;
  const outHeaders = limitAcceptEncodingIn(head.headers, snap.vault);
  beforeBody?.();
  if (!body) return { ok: true, url: head.url, headers: outHeaders, body: null, contentLength: undefined, bodyChanged: false, substituted };
  const prepared = await prepareBody(body.source, {
    vault: snap.vault,
    host: target.host,
    tls: conn.tls,
    contentEncoding: body.contentEncoding,
    contentLength: body.contentLength,
    onSubstituted: (n) => {
      for (const x of n) substituted.add(x);
      log.substituted = [...substituted];
    },
  });
  if (!prepared.ok) {
    if (prepared.kind === 'aborted') return { ok: false, aborted: prepared.error };
    if (prepared.kind === 'encoding') {
      return { ok: false, refusal: { status: 415, text: uncheckableBodyText(method, target.host, prepared.message), header: BLOCKED_HEADER, extra: { reason: 'unsupported-encoding' } } };
    }
    log.leak = prepared.secret;
    return { ok: false, refusal: { status: 403, text: secretBlockedText(method, target.host, prepared.message), header: BLOCKED_HEADER, extra: { reason: `secret-${prepared.kind}` } } };
  }
  return {
    ok: true,
    url: head.url,
    headers: outHeaders,
    body: prepared.body,
    contentLength: prepared.contentLength,
    bodyChanged: prepared.contentLength !== body.contentLength || Buffer.isBuffer(prepared.body),
    substituted,
  };
}

/** A secret error thrown by a body stage after the gate opened, as a refusal. */
export function lateSecretRefusal(method: string, host: string, err: { secret: string; message: string }, log: RequestLog): Refusal {
  log.leak = err.secret;
  return { status: 403, text: secretBlockedText(method, host, err.message), header: BLOCKED_HEADER, extra: { reason: 'secret-late' } };
}

export function newLog(conn: ConnectionContext, proto: string, method: string, host: string, path: string): RequestLog {
  return { conn: conn.id, client: conn.client, proto, method, host, path, decision: 'deny', rule: null, status: 0, substituted: [], leak: null, bytes: 0, ms: 0 };
}
