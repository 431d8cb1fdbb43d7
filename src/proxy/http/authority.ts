import { isIP } from 'node:net';

/**
 * Host (and optional port) from a Host header or :authority. Returns null for anything that is not a
 * plausible host: such requests are refused rather than guessed at.
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
    if (isIP(host) !== 6) return null;
  } else {
    const colon = v.indexOf(':');
    if (colon !== -1 && v.indexOf(':', colon + 1) !== -1) {
      // Bare IPv6 without brackets: tolerated only as a whole literal.
      if (isIP(v) !== 6) return null;
      return { host: v.toLowerCase(), port: undefined };
    }
    host = colon === -1 ? v : v.slice(0, colon);
    portText = colon === -1 ? undefined : v.slice(colon + 1);
  }
  host = host.toLowerCase();
  while (host.endsWith('.')) host = host.slice(0, -1);
  if (!host || !/^[a-z0-9._\-:%]+$/.test(host)) return null;
  let port: number | undefined;
  if (portText !== undefined && portText !== '') {
    if (!/^\d{1,5}$/.test(portText)) return null;
    port = Number(portText);
    if (port < 1 || port > 65535) return null;
  }
  return { host, port };
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
