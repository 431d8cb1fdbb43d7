import { placeholdersInUrl, substituteUrl } from './url.js';
import type { Destination, SecretVault, SubstitutionResult } from './vault.js';

/**
 * Placeholders in header values. Node hands header values over as latin1 strings (one char per
 * byte), so values go in as their UTF-8 bytes. Three forms are recognised:
 *  - the placeholder as is (`Authorization: Bearer SANDCAT_PLACEHOLDER_X`, any header);
 *  - percent-encoded (cookies and form-like values);
 *  - inside `Basic` credentials of `Authorization` / `Proxy-Authorization`: base64 of `user:pass`,
 *    which git and many CLIs send. It is decoded, substituted and re-encoded.
 * Header names are checked but never rewritten: a placeholder there only counts as a possible leak.
 */

const BASIC = /^(\s*basic\s+)([A-Za-z0-9+/]+={0,2})(\s*)$/i;
const AUTH_HEADER = /^(proxy-)?authorization$/i;

/** Decoded Basic credentials (latin1), or null when the value is not Basic with valid base64. */
function basicCredentials(name: string, value: string): { prefix: string; decoded: string; suffix: string } | null {
  if (!AUTH_HEADER.test(name)) return null;
  const m = BASIC.exec(value);
  if (!m || m[2]!.length % 4 === 1) return null;
  return { prefix: m[1]!, decoded: Buffer.from(m[2]!, 'base64').toString('latin1'), suffix: m[3]! };
}

/** Names of the secrets whose placeholders a header (name or value, in any recognised form) carries. */
export function placeholdersInHeader(vault: SecretVault, name: string, value: string): string[] {
  if (vault.isEmpty) return [];
  const found = new Set([...vault.scan(name), ...placeholdersInUrl(vault, value)]);
  const basic = basicCredentials(name, value);
  if (basic) for (const n of vault.scan(basic.decoded)) found.add(n);
  return [...found];
}

/** What node (and RFC 9110 field-value) refuses in a header value: controls other than tab, CR, LF, NUL. */
const NOT_A_HEADER_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

export type HeaderValueResult = SubstitutionResult | { ok: false; unfit: string };

/**
 * Substitute placeholders in one header value toward the destination. A secret whose value cannot
 * stand in a header (a PEM key, JSON with line breaks) is refused as `unfit` rather than sent as a
 * broken or split header.
 */
export function substituteHeaderValue(vault: SecretVault, name: string, value: string, host: Destination): HeaderValueResult {
  const r = substituteHeaderValueUnchecked(vault, name, value, host);
  if (r.ok && r.substituted.length && NOT_A_HEADER_VALUE.test(r.text)) {
    const unfit = r.substituted.find((n) => {
      const alone = vault.substitute(vault.placeholderOf(n)!, host, true);
      return alone.ok && NOT_A_HEADER_VALUE.test(alone.text);
    });
    // No single value is unfit only if the agent's own bytes were, which node's parsers refuse first.
    return { ok: false, unfit: unfit ?? r.substituted[0]! };
  }
  return r;
}

function substituteHeaderValueUnchecked(vault: SecretVault, name: string, value: string, host: Destination): SubstitutionResult {
  if (vault.isEmpty) return { ok: true, text: value, substituted: [] };
  for (const n of vault.scan(name)) {
    if (!vault.allowsHost(n, host)) return { ok: false, leak: n };
  }
  const basic = basicCredentials(name, value);
  if (basic) {
    const r = vault.substitute(basic.decoded, host, true);
    if (!r.ok) return r;
    if (r.substituted.length) {
      // Credentials rewritten; they hold no other form of placeholder.
      return { ok: true, text: basic.prefix + Buffer.from(r.text, 'latin1').toString('base64') + basic.suffix, substituted: r.substituted };
    }
  }
  // One pass: literal placeholders get the raw bytes, percent-encoded ones an encoded value.
  return value.includes('%') ? substituteUrl(vault, value, host, { literalAsIs: true }) : vault.substitute(value, host, true);
}

export type RawHeadersResult = { ok: true; headers: string[]; substituted: string[] } | { ok: false; leak: string } | { ok: false; unfit: string };

/**
 * Node's flat `[name, value, name, value, …]` list (`req.rawHeaders`). Returns the input array
 * itself when nothing changed, else a copy; the input is never modified.
 */
export function substituteRawHeaders(vault: SecretVault, rawHeaders: readonly string[], host: Destination): RawHeadersResult {
  if (vault.isEmpty) return { ok: true, headers: rawHeaders as string[], substituted: [] };
  let headers = rawHeaders as string[];
  const substituted = new Set<string>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const r = substituteHeaderValue(vault, rawHeaders[i]!, rawHeaders[i + 1]!, host);
    if (!r.ok) return r;
    if (r.text !== rawHeaders[i + 1]) {
      if (headers === rawHeaders) headers = rawHeaders.slice();
      headers[i + 1] = r.text;
    }
    for (const n of r.substituted) substituted.add(n);
  }
  return { ok: true, headers, substituted: [...substituted] };
}

export type HeaderMap = Record<string, string | string[] | undefined>;
export type HeaderMapResult = { ok: true; headers: HeaderMap; substituted: string[] } | { ok: false; leak: string } | { ok: false; unfit: string };

/**
 * A header object (`req.headers`, or HTTP/2 headers). Pseudo-headers (`:path`, `:authority`) are
 * left alone: substitute `:path` with substituteUrl. Returns a new object when anything changed.
 */
export function substituteHeaderMap(vault: SecretVault, headers: HeaderMap, host: Destination): HeaderMapResult {
  if (vault.isEmpty) return { ok: true, headers, substituted: [] };
  let out = headers;
  const substituted = new Set<string>();
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name.startsWith(':')) continue;
    const values = Array.isArray(value) ? value : [value];
    const next: string[] = [];
    for (const v of values) {
      const r = substituteHeaderValue(vault, name, v, host);
      if (!r.ok) return r;
      next.push(r.text);
      for (const n of r.substituted) substituted.add(n);
    }
    if (next.some((v, i) => v !== values[i])) {
      if (out === headers) out = { ...headers };
      out[name] = Array.isArray(value) ? next : next[0];
    }
  }
  return { ok: true, headers: out, substituted: [...substituted] };
}

/** Turn real values in response headers back into placeholders. Returns the input when unchanged. */
export function scrubRawHeaders(vault: SecretVault, rawHeaders: readonly string[]): { headers: string[]; scrubbed: string[] } {
  if (!vault.hasScrubbableValues) return { headers: rawHeaders as string[], scrubbed: [] };
  let headers = rawHeaders as string[];
  const scrubbed = new Set<string>();
  for (let i = 1; i < rawHeaders.length; i += 2) {
    const v = rawHeaders[i]!;
    const names = vault.scanValues(v, true);
    if (names.length === 0) continue;
    if (headers === rawHeaders) headers = rawHeaders.slice();
    headers[i] = vault.scrub(v, true);
    for (const n of names) scrubbed.add(n);
  }
  return { headers, scrubbed: [...scrubbed] };
}

/** The same for a header object (`res.headers`, HTTP/2 response headers). */
export function scrubHeaderMap(vault: SecretVault, headers: HeaderMap): { headers: HeaderMap; scrubbed: string[] } {
  if (!vault.hasScrubbableValues) return { headers, scrubbed: [] };
  let out = headers;
  const scrubbed = new Set<string>();
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const values = Array.isArray(value) ? value : [value];
    const names = values.flatMap((v) => vault.scanValues(v, true));
    if (names.length === 0) continue;
    if (out === headers) out = { ...headers };
    out[name] = Array.isArray(value) ? value.map((v) => vault.scrub(v, true)) : vault.scrub(value, true);
    for (const n of names) scrubbed.add(n);
  }
  return { headers: out, scrubbed: [...scrubbed] };
}
