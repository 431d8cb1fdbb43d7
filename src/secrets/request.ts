import type { Transform } from 'node:stream';
import { normalizeHost } from '../policy/glob.js';
import { decodersFor, encodersFor, parseContentEncoding } from './content-coding.js';
import { placeholdersInHeader, substituteRawHeaders } from './headers.js';
import { placeholdersInUrl, substituteUrl } from './url.js';
import type { Destination, SecretVault } from './vault.js';

/**
 * Everything a request needs from the secrets side, in the order the proxy meets it:
 *  1. the head (request target + headers): `substituteRequestHead` — substitute toward allowed
 *     hosts over TLS; 403 for a leak; 403 for any placeholder over plain HTTP;
 *  2. the body: `requestBodyPlan` — the streaming stages to pipe it through.
 * Pure: no IO, no logging. Results carry secret names, never values.
 */

export interface RequestHead {
  /** The request target as received: origin-form `/path?query`, or absolute-form. */
  url: string;
  /** Node's flat `[name, value, …]` list (`req.rawHeaders`). */
  rawHeaders: readonly string[];
  /** Where the request goes: the host, or every name the connection claims. */
  host: Destination;
  /** Whether the request travels over TLS to that host. False: placeholders are refused. */
  tls: boolean;
}

export type HeadBlock = {
  ok: false;
  kind: 'leak' | 'cleartext' | 'unfit-header';
  /** The (first) secret the block is about. */
  secret: string;
  /** Every secret whose placeholder the head carries (cleartext) or that leaked (leak). */
  secrets: string[];
  /** The destination name that was refused. */
  host: string;
  status: 403;
  /** One paragraph for the 403 text/plain body and the log line. Names only. */
  message: string;
};

export type HeadResult = { ok: true; url: string; headers: string[]; substituted: string[] } | HeadBlock;

function firstHost(host: Destination): string {
  return normalizeHost(typeof host === 'string' ? host : (host[0] ?? '')) || '(no host)';
}

export function leakMessage(secret: string, host: string): string {
  return `This request carries the placeholder for secret ${secret}, which may only be sent to the hosts in secrets.${secret}.hosts; ${host} is not one of them. Nothing was sent upstream. If ${host} should receive it, add it to secrets.${secret}.hosts in the settings.`;
}

export function cleartextMessage(secrets: readonly string[], host: string): string {
  const which = secrets.length === 1 ? `secret ${secrets[0]}` : `secrets ${secrets.join(', ')}`;
  return `This plain-HTTP request to ${host} carries the placeholder for ${which}. Secrets are only substituted over HTTPS, so that a forged Host header cannot pull a key to another address. Nothing was sent upstream. Use https://${host}/ instead.`;
}

/**
 * Names of every secret whose placeholder the head carries anywhere: URL (also percent-encoded),
 * header names and values, Basic credentials. For the cleartext 403.
 */
export function placeholdersInRequestHead(vault: SecretVault, head: Pick<RequestHead, 'url' | 'rawHeaders'>): string[] {
  if (vault.isEmpty) return [];
  const found = new Set(placeholdersInUrl(vault, head.url));
  for (let i = 0; i + 1 < head.rawHeaders.length; i += 2) {
    for (const n of placeholdersInHeader(vault, head.rawHeaders[i]!, head.rawHeaders[i + 1]!)) found.add(n);
  }
  return [...found];
}

/** Substitute the request target and headers, or say why the request must be refused. */
export function substituteRequestHead(vault: SecretVault, head: RequestHead): HeadResult {
  if (vault.isEmpty) return { ok: true, url: head.url, headers: head.rawHeaders as string[], substituted: [] };
  if (!head.tls) {
    const names = placeholdersInRequestHead(vault, head);
    if (names.length === 0) return { ok: true, url: head.url, headers: head.rawHeaders as string[], substituted: [] };
    const host = firstHost(head.host);
    return { ok: false, kind: 'cleartext', secret: names[0]!, secrets: names, host, status: 403, message: cleartextMessage(names, host) };
  }
  const url = substituteUrl(vault, head.url, head.host);
  if (!url.ok) return leak(vault, url.leak, head.host);
  const headers = substituteRawHeaders(vault, head.rawHeaders, head.host);
  if (!headers.ok) return 'unfit' in headers ? unfitHeader(headers.unfit, head.host) : leak(vault, headers.leak, head.host);
  return { ok: true, url: url.text, headers: headers.headers, substituted: [...new Set([...url.substituted, ...headers.substituted])] };
}

function unfitHeader(secret: string, destination: Destination): HeadBlock {
  const host = firstHost(destination);
  const message = `The value of secret ${secret} contains a line break or another control character, so it cannot be sent in an HTTP header. Nothing was sent upstream. Send it in the request body instead, or store a single-line form of it.`;
  return { ok: false, kind: 'unfit-header', secret, secrets: [secret], host, status: 403, message };
}

function leak(vault: SecretVault, secret: string, destination: Destination): HeadBlock {
  const host = vault.deniedHost(secret, destination);
  return { ok: false, kind: 'leak', secret, secrets: [secret], host, status: 403, message: leakMessage(secret, host) };
}

export interface BodyPlanInput {
  /** The request's Content-Encoding header, if any. */
  contentEncoding?: string | readonly string[];
  host: Destination;
  tls: boolean;
  /** Called with the names substituted in each stretch of body (for the decision log). */
  onSubstituted?: (names: string[]) => void;
}

export type BodyPlan =
  | {
      ok: true;
      /**
       * Pipe the body through these, in order (`pipeline(req, ...transforms, upstream)`). Empty:
       * send the body untouched. A stage errors with SecretLeakError or CleartextSecretError
       * when a placeholder may not go; abort the upstream request then.
       */
      transforms: Transform[];
      /** The bytes may change: drop Content-Length and send chunked (HTTP/1.1) or unsized (h2). */
      lengthMayChange: boolean;
    }
  | { ok: false; status: 415; coding: string; message: string };

/**
 * How to stream a request body. A compressed body (gzip, x-gzip, deflate, br, or a list of them)
 * is decoded, checked and substituted, and re-encoded in the same codings, so the upstream gets
 * what it expects. Any other coding is refused with 415: it could not be checked.
 */
export function requestBodyPlan(vault: SecretVault, input: BodyPlanInput): BodyPlan {
  if (vault.isEmpty) return { ok: true, transforms: [], lengthMayChange: false };
  const parsed = parseContentEncoding(input.contentEncoding);
  if (!parsed.ok) {
    return {
      ok: false,
      status: 415,
      coding: parsed.coding,
      message: `The request body is encoded with "${parsed.coding}", which sandcat cannot decode to check it for secret placeholders. Send it uncompressed or with gzip, deflate or br.`,
    };
  }
  const middle = input.tls ? vault.requestBodyTransform(input.host, input.onSubstituted) : vault.cleartextBodyGuard(firstHost(input.host));
  const transforms = [...decodersFor(parsed.codings), middle, ...encodersFor(parsed.codings)];
  // A cleartext guard passes bytes through unchanged; anything re-encoded or substituted may change size.
  return { ok: true, transforms, lengthMayChange: input.tls || parsed.codings.length > 0 };
}
