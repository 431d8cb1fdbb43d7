import { isIPv4, isIPv6 } from 'node:net';
import { canonicalIp } from '../dns/ip.js';
import { globToRegExp, hasGlobSyntax } from './glob.js';

/**
 * IP literals are not names. An IP says nothing about who is behind it, so the brief's rule is
 * "an IP literal is denied unless a rule names that IP": a name glob (`*`, `*.example.com`) never
 * matches one. Without this, anything that smuggles text into an IPv6 literal (a zone ID:
 * `::1%x.cdn.example.com`) would glob-match a name rule while connecting to the literal.
 */

/**
 * The canonical text of an IP literal (v4-mapped v6 → dotted quad, v6 in RFC 5952 compressed
 * form, any zone ID dropped), or null when `host` is not an IP literal. `host` is already
 * normalized (lower case, no brackets, no trailing dot).
 */
export function ipLiteral(host: string): string | null {
  if (isIPv4(host)) return host;
  if (host.indexOf(':') === -1) return null;
  const pct = host.indexOf('%');
  // A zone ID makes it a (scoped) literal still; what follows "%" is never part of a decision.
  const bare = pct === -1 ? host : host.slice(0, pct);
  if (!isIPv6(bare)) return null;
  return canonicalIp(bare);
}

/**
 * A glob written for IP addresses: only digits, hex letters, `.`, `:`, `*`, `?` and `[...]`
 * classes of those (with `!` and `-`), containing at least one digit. `10.0.0.*`, `fd00::*`,
 * `192.168.[0-9].*`. Such a pattern matches IP literals only, never names: `10.0.0.*` must not
 * allow `10.0.0.attacker.example`.
 */
export function isIpShapedGlob(pattern: string): boolean {
  if (!/[0-9]/.test(pattern)) return false;
  const outside = pattern.replace(/\[!?[0-9a-f:.-]*\]/g, '');
  return /^[0-9a-f.:*?]+$/.test(outside);
}

/**
 * One host pattern as a predicate with the same IP/name separation the rules use (for the places
 * that match a single list of patterns, such as a secret's `hosts`): an IP literal pattern matches
 * that IP in any spelling, an IP-shaped glob matches IP literals only, and a name or name glob
 * (`*` included) matches names only. `host` is normalized (lower case, no trailing dot).
 */
export function hostPatternMatcher(pattern: string): (host: string) => boolean {
  const glob = hasGlobSyntax(pattern);
  const ip = glob ? null : ipLiteral(pattern);
  if (ip !== null) return (host) => ipLiteral(host) === ip;
  const re = globToRegExp(pattern);
  if (glob && isIpShapedGlob(pattern)) {
    return (host) => {
      const h = ipLiteral(host);
      return h !== null && re.test(h);
    };
  }
  return (host) => ipLiteral(host) === null && re.test(host);
}
