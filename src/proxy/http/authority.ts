import { isIP, isIPv4, isIPv6 } from 'node:net';
import { canonicalIp } from '../../dns/ip.js';

/**
 * Host (and optional port) from a Host header or :authority. Returns null for anything that is not a
 * plausible host: such requests are refused rather than guessed at. IP literals come back in
 * canonical form (v4-mapped v6 as dotted quad, v6 compressed), so the name decided is the address
 * connected to.
 */
export function parseAuthority(value: string | undefined): { host: string; port: number | undefined } | null {
  if (value === undefined) return null;
  let v = value.trim();
  if (v.length === 0 || v.length > 300) return null;
  const at = v.lastIndexOf('@'); // userinfo is not allowed in Host, but never let it pick the host
  if (at !== -1) return null;
  let host: string;
  let portText: string | undefined;
  if (v.startsWith('[')) {
    const close = v.indexOf(']');
    if (close === -1) return null;
    host = v.slice(1, close);
    const rest = v.slice(close + 1);
    if (rest && !rest.startsWith(':')) return null;
    portText = rest ? rest.slice(1) : undefined;
    const ip = ipv6Literal(host);
    if (ip === null) return null;
    host = ip;
  } else {
    const colon = v.indexOf(':');
    if (colon !== -1 && v.indexOf(':', colon + 1) !== -1) {
      // Bare IPv6 without brackets: tolerated only as a whole literal.
      const ip = ipv6Literal(v);
      return ip === null ? null : { host: ip, port: undefined };
    }
    host = colon === -1 ? v : v.slice(0, colon);
    portText = colon === -1 ? undefined : v.slice(colon + 1);
    host = host.toLowerCase();
    while (host.endsWith('.')) host = host.slice(0, -1);
    if (!isHostName(host)) return null;
  }
  let port: number | undefined;
  if (portText !== undefined && portText !== '') {
    if (!/^\d{1,5}$/.test(portText)) return null;
    port = Number(portText);
    if (port < 1 || port > 65535) return null;
  }
  return { host, port };
}

/**
 * An IPv6 literal in strict form (hex digits, colons, an embedded dotted quad), canonicalized;
 * null otherwise. A zone ID (`%eth0`) is refused: it never means anything toward the internet,
 * and node's isIP accepts any text after "%", which once let `::1%x.allowed.example` pass as both
 * a name and an address.
 */
function ipv6Literal(text: string): string | null {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || !isIPv6(text)) return null;
  return canonicalIp(text);
}

/**
 * A host name or dotted-quad IPv4 as the proxy accepts it in Host, :authority and SNI: LDH
 * labels (plus "_", which real names use), no empty label, at most 253 characters, lower case.
 * A name whose last label is numeric but which is not a dotted quad (`127.1`, `0x7f.1`,
 * `2130706433`) is refused: resolvers and URL parsers read it as an IPv4 address in another
 * spelling, so it would dodge the IP-literal rule.
 */
export function isHostName(host: string): boolean {
  if (host.length === 0 || host.length > 253) return false;
  if (isIPv4(host)) return true;
  if (!/^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(host)) return false;
  const last = host.slice(host.lastIndexOf('.') + 1);
  return !/^(\d+|0x[0-9a-f]*)$/.test(last);
}

/**
 * A TLS server_name as the proxy accepts it: a host name (see isHostName) or an IP literal in
 * strict form. Anything else (a zone ID, "%", "/", "@", spaces) makes the handshake fail.
 */
export function isAcceptableSni(sni: string): boolean {
  let h = sni.toLowerCase();
  if (h.endsWith('.')) h = h.slice(0, -1);
  if (h.includes(':')) return ipv6Literal(h) !== null;
  return isHostName(h);
}

/** `host` as it goes into a URL authority: IPv6 literals bracketed. */
export function formatHostForUrl(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}

/** Path without the query string: logs never carry query values (they may hold tokens). */
export function pathForLog(target: string): string {
  const q = target.indexOf('?');
  const p = q === -1 ? target : target.slice(0, q) + '?…';
  return p.length > 200 ? p.slice(0, 200) + '…' : p;
}
