import type { Destination, SecretVault, SubstitutionResult } from './vault.js';

/**
 * Placeholders in a request target (path and query, or an absolute URL).
 *
 * A client may percent-encode any character of a placeholder (`SANDCAT%5FPLACEHOLDER%5FX`, or a
 * custom placeholder holding `+` or `/`). So the target is decoded into bytes while remembering
 * where each decoded byte came from; placeholders are found in the decoded bytes; each one's
 * original span is replaced by the value, percent-encoded. Every byte outside the spans stays as
 * the client sent it, so an unrelated `%2F` is never turned into `/`.
 */

/** RFC 3986 unreserved characters: the only ones safe unencoded in every part of a URL. */
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/** Percent-encode bytes (a latin1 string) for any URL component: everything but unreserved. */
export function percentEncodeBytes(bytes: Buffer): string {
  let out = '';
  for (const b of bytes) {
    const ch = String.fromCharCode(b);
    out += UNRESERVED.test(ch) ? ch : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

interface Decoded {
  /** The decoded bytes as latin1. */
  text: string;
  /** For each decoded char: its start in the original, and how many original chars it took. */
  starts: number[];
  widths: number[];
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

function decodeWithMap(target: string): Decoded {
  const starts: number[] = [];
  const widths: number[] = [];
  let text = '';
  for (let i = 0; i < target.length; ) {
    if (target.charCodeAt(i) === 37 /* % */ && i + 2 < target.length && isHex(target.charCodeAt(i + 1)) && isHex(target.charCodeAt(i + 2))) {
      text += String.fromCharCode(parseInt(target.slice(i + 1, i + 3), 16));
      starts.push(i);
      widths.push(3);
      i += 3;
    } else {
      text += target[i];
      starts.push(i);
      widths.push(1);
      i += 1;
    }
  }
  return { text, starts, widths };
}

/** Names of the secrets whose placeholders occur in the target, literal or percent-encoded. */
export function placeholdersInUrl(vault: SecretVault, target: string): string[] {
  if (vault.isEmpty) return [];
  const direct = vault.scan(target);
  if (!target.includes('%')) return direct;
  return [...new Set([...direct, ...vault.scan(decodeWithMap(target).text)])];
}

/**
 * Substitute placeholders in a request target toward the destination. The result's `text` is
 * the new target; values are percent-encoded (unreserved characters stay as they are).
 * A placeholder whose secret does not allow the destination makes the result a leak.
 * With `literalAsIs` (header values), a placeholder written without any escape gets the raw value
 * bytes (latin1) and only a percent-encoded one gets a percent-encoded value.
 */
export function substituteUrl(vault: SecretVault, target: string, host: Destination, options: { literalAsIs?: boolean } = {}): SubstitutionResult {
  if (vault.isEmpty || target.length === 0) return { ok: true, text: target, substituted: [] };
  const plain = !target.includes('%');
  const decoded = plain ? null : decodeWithMap(target);
  const matches = vault.matches(decoded ? decoded.text : target);
  if (matches.length === 0) return { ok: true, text: target, substituted: [] };
  for (const m of matches) {
    if (!vault.allowsHost(m.name, host)) return { ok: false, leak: m.name };
  }
  let out = '';
  let from = 0;
  const substituted = new Set<string>();
  for (const m of matches) {
    const start = decoded ? decoded.starts[m.index]! : m.index;
    const last = m.index + m.length - 1;
    const end = decoded ? decoded.starts[last]! + decoded.widths[last]! : m.index + m.length;
    const escaped = end - start !== m.length;
    const value = vault.valueBytes(m.name);
    out += target.slice(from, start) + (options.literalAsIs && !escaped ? value.toString('latin1') : percentEncodeBytes(value));
    from = end;
    substituted.add(m.name);
  }
  out += target.slice(from);
  return { ok: true, text: out, substituted: [...substituted] };
}
