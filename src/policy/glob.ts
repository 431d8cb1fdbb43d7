/**
 * fnmatch-style host globs, as sandcat's Python addon used them: `*` crosses dots, `?` is one
 * character, `[...]`/`[!...]` are classes. Compiled once at load; never a RegExp per request.
 */

export function normalizeHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1); // bracketed IPv6 literal
  while (h.endsWith('.')) h = h.slice(0, -1);
  return h;
}

export function hasGlobSyntax(pattern: string): boolean {
  return /[*?[]/.test(pattern);
}

export function globToRegExp(pattern: string): RegExp {
  let out = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') out += '.*';
    else if (c === '?') out += '.';
    else if (c === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close === -1) {
        out += '\\[';
        continue;
      }
      let body = pattern.slice(i + 1, close);
      const negate = body.startsWith('!');
      if (negate) body = body.slice(1);
      body = body.replace(/\\/g, '\\\\').replace(/\^/g, '\\^');
      out += `[${negate ? '^' : ''}${body}]`;
      i = close;
    } else out += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(out + '$', 's');
}

/**
 * Patterns that match more than people usually mean. sandcat semantics must keep working, so these
 * are warnings, not errors.
 */
export function globPitfall(pattern: string): string | null {
  if (pattern === '*') return null; // deliberate catch-all, documented
  const star = pattern.indexOf('*');
  if (star !== -1 && pattern[star + 1] !== undefined && pattern[star + 1] !== '.' && pattern[star + 1] !== '*') {
    const rest = pattern.slice(star + 1);
    return `"${pattern}" also matches hosts like "evil${rest}"; to match a domain and its subdomains use "${rest}" and "*.${rest}"`;
  }
  return null;
}
