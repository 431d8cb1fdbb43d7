import { formatHostForUrl, parseAuthority } from './authority.js';

export type Authority = NonNullable<ReturnType<typeof parseAuthority>>;

export type HostCheck = { ok: true; authority: Authority | null; raw: string | undefined } | { ok: false; text: string; reason: string };

/**
 * The one Host an HTTP/1.x request names. Two Host fields (RFC 9112 §3.2: "MUST respond with 400")
 * would let the proxy decide on one name while the upstream routes on the other, so they are refused
 * whatever their values; so is a Host that is not a plausible host.
 */
export function checkHostHeaders(rawHeaders: readonly string[]): HostCheck {
  let raw: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length !== 4 || name.toLowerCase() !== 'host') continue;
    if (raw !== undefined) return { ok: false, text: 'sandcat: the request has more than one Host header\n', reason: 'duplicate-host' };
    raw = rawHeaders[i + 1]!;
  }
  if (raw === undefined) return { ok: true, authority: null, raw };
  const authority = parseAuthority(raw);
  if (!authority) return { ok: false, text: `sandcat: the Host header "${raw.slice(0, 100)}" is not a valid host\n`, reason: 'bad-host' };
  return { ok: true, authority, raw };
}

/**
 * An HTTP/2 request's authority: `:authority`, else `host`. When both are present they must name
 * the same authority (RFC 9113 §8.3.1), else the request is refused.
 */
export function checkH2Authority(authorityHeader: unknown, hostHeader: unknown): HostCheck {
  if (Array.isArray(authorityHeader) || Array.isArray(hostHeader)) return { ok: false, text: 'sandcat: the request has more than one :authority or Host\n', reason: 'duplicate-host' };
  const raw = (authorityHeader ?? hostHeader) as string | undefined;
  if (raw === undefined) return { ok: true, authority: null, raw };
  const authority = parseAuthority(String(raw));
  if (!authority) return { ok: false, text: 'sandcat: invalid :authority\n', reason: 'bad-host' };
  if (authorityHeader !== undefined && hostHeader !== undefined) {
    const other = parseAuthority(String(hostHeader));
    if (!other || other.host !== authority.host || other.port !== authority.port) {
      return { ok: false, text: 'sandcat: the Host header and :authority name different hosts\n', reason: 'host-mismatch' };
    }
  }
  return { ok: true, authority, raw: String(raw) };
}

/** The Host value sent upstream: the name the policy decided on (lower case, no trailing dot), with its port. */
export function hostValue(authority: Authority): string {
  return authority.port === undefined ? formatHostForUrl(authority.host) : `${formatHostForUrl(authority.host)}:${authority.port}`;
}

/** Replace the Host field of a flat [name, value, …] list (or add one) with `value`. */
export function withHost(headers: readonly string[], value: string): string[] {
  const out: string[] = [];
  let done = false;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    if (name.length === 4 && name.toLowerCase() === 'host') {
      if (!done) out.push(name, value);
      done = true;
      continue;
    }
    out.push(name, headers[i + 1]!);
  }
  if (!done) out.push('Host', value);
  return out;
}
