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
    if (c === '*') {
      out += '.*';
      while (pattern[i + 1] === '*') i++;
    } else if (c === '?') out += '.';
    else if (c === '[') {
      // As fnmatch: "!" right after "[" negates, and a "]" right after that is a literal member.
      let j = i + 1;
      if (pattern[j] === '!') j++;
      if (pattern[j] === ']') j++;
      const close = pattern.indexOf(']', j);
      if (close === -1) {
        out += '\\[';
        continue;
      }
      let body = pattern.slice(i + 1, close);
      const negate = body.startsWith('!');
      if (negate) body = body.slice(1);
      body = body.replace(/[\\^\]]/g, '\\$&');
      out += `[${negate ? '^' : ''}${body}]`;
      i = close;
    } else out += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(out + '$', 's');
}

/**
 * Patterns that match more than people usually mean. sandcat semantics must keep working, so these
 * are warnings, not errors. Only a leading "*." is safe: any other `*` can stand for several
 * labels or for a prefix of a label.
 */
export function globPitfall(pattern: string): string | null {
  if (pattern === '*') return null; // deliberate catch-all, documented
  const body = pattern.startsWith('*.') ? pattern.slice(2) : pattern;
  if (!body.includes('*')) return null;
  if (/^\*+[^*.]/.test(pattern)) {
    const rest = pattern.replace(/^\*+/, '');
    if (!rest.includes('*')) {
      return `"${pattern}" also matches hosts like "evil${rest}"; to match a domain and its subdomains use "${rest}" and "*.${rest}"`;
    }
  }
  const example = pattern.replace(/^\*\./, 'www.').replace(/\*+/g, (_m, offset: number) => (offset === 0 ? 'evil' : 'evil.example'));
  return `"${pattern}" also matches hosts like "${example}": * crosses dots, so it can stand for several labels`;
}

/**
 * Host strings that can never match a host name as the proxy sees it (a URL, a path, a port),
 * so a rule holding one is dead. Returns the problem and the fix, or null.
 */
export function hostPatternProblem(pattern: string): string | null {
  const p = pattern.trim(); // normalizeHost trims, so outer whitespace is harmless
  if (/\s/.test(p)) return `"${pattern}" contains whitespace, so it never matches`;
  const url = /^[a-z][a-z0-9+.-]*:\/\/([^/:?#]*)/i.exec(p);
  if (url) return `"${pattern}" is a URL, so it never matches; use the host name alone: "${url[1]}"`;
  if (p.includes('/')) return `"${pattern}" contains a path, so it never matches; use the host name alone: "${p.slice(0, p.indexOf('/'))}"`;
  const port = /^([^:]+):(\d+)$/.exec(p);
  if (port) return `"${pattern}" contains a port, so it never matches; use "host": "${port[1]}" with "port": ${port[2]}`;
  return null;
}
