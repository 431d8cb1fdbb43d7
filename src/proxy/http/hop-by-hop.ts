/** Connection-level headers (RFC 9110 §7.6.1) that never cross a proxy, lower-case. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

/**
 * Headers a `Connection:` token may never remove: dropping the framing of a body the proxy
 * forwards, or the Host it decided on, would let the upstream parse a different request than the
 * one that was checked (request smuggling; RFC 9110 §7.6.1 lets intermediaries ignore such tokens).
 */
const NEVER_CONNECTION_SCOPED = new Set(['content-length', 'transfer-encoding', 'host']);

/** Extra names a `Connection:` header declares hop-by-hop, lower-case. */
export function connectionTokens(raw: readonly string[]): Set<string> | null {
  let out: Set<string> | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 10 && name.toLowerCase() === 'connection') {
      for (const t of raw[i + 1]!.split(',')) {
        const tok = t.trim().toLowerCase();
        if (tok && !NEVER_CONNECTION_SCOPED.has(tok)) (out ??= new Set()).add(tok);
      }
    }
  }
  return out;
}

export function isHopByHop(lowerName: string): boolean {
  return HOP_BY_HOP.has(lowerName);
}

/**
 * Drop hop-by-hop headers from a flat [name, value, …] list. `keep` lets upgrade requests keep
 * `connection`/`upgrade`. Also drops `host` when `dropHost` (h2 carries it as :authority).
 */
export function stripHopByHop(raw: readonly string[], options: { keepUpgrade?: boolean; dropHost?: boolean; lowerCase?: boolean } = {}): string[] {
  const extra = connectionTokens(raw);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (lower.charCodeAt(0) === 58 /* ':' */) continue; // h2 pseudo-headers never become fields
    if (options.dropHost && lower === 'host') continue;
    if (options.keepUpgrade && (lower === 'connection' || lower === 'upgrade')) {
      out.push(options.lowerCase ? lower : name, raw[i + 1]!);
      continue;
    }
    if (HOP_BY_HOP.has(lower) || extra?.has(lower)) continue;
    out.push(options.lowerCase ? lower : name, raw[i + 1]!);
  }
  return out;
}
