import { isIPv4, isIPv6 } from 'node:net';

/**
 * One spelling per address, so that the name the DNS server recorded and the address a socket
 * reports compare equal: IPv4 dotted quad (also for `::ffff:a.b.c.d` mapped forms, which a
 * dual-stack listener reports for v4 clients), IPv6 lower case in RFC 5952 compressed form (what
 * node and inet_ntop print). Anything else is returned lower-cased, unchanged.
 */
export function canonicalIp(ip: string): string {
  if (ip.indexOf(':') === -1) return ip; // v4 (or a name): the hot path, no work
  let s = ip;
  const pct = s.indexOf('%');
  if (pct !== -1) s = s.slice(0, pct); // zone index: not part of the address
  if (s.length > 7 && s.charCodeAt(0) === 58 /* : */ && s.slice(0, 7).toLowerCase() === '::ffff:' && isIPv4(s.slice(7))) {
    return s.slice(7);
  }
  if (!isIPv6(s)) return s.toLowerCase();
  const groups = parseIPv6(s);
  return groups ? formatIPv6Groups(groups) : s.toLowerCase();
}

/** Eight 16-bit groups, or null. An embedded dotted quad becomes the last two groups. */
function parseIPv6(s: string): number[] | null {
  const lastColon = s.lastIndexOf(':');
  const last = s.slice(lastColon + 1);
  if (last.includes('.')) {
    const p = last.split('.').map(Number);
    s = `${s.slice(0, lastColon + 1)}${((p[0]! << 8) | p[1]!).toString(16)}:${((p[2]! << 8) | p[3]!).toString(16)}`;
  }
  const toGroups = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const dbl = s.indexOf('::');
  let groups: number[];
  if (dbl === -1) groups = toGroups(s);
  else {
    const head = toGroups(s.slice(0, dbl));
    const rest = toGroups(s.slice(dbl + 2));
    groups = [...head, ...new Array<number>(Math.max(0, 8 - head.length - rest.length)).fill(0), ...rest];
  }
  return groups.length === 8 && groups.every((g) => g >= 0 && g <= 0xffff) ? groups : null;
}

/** RFC 5952: lower case, no leading zeros, the longest run (≥ 2) of zero groups as `::`. */
export function formatIPv6Groups(g: readonly number[]): string {
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `${g[6]! >> 8}.${g[6]! & 255}.${g[7]! >> 8}.${g[7]! & 255}`; // mapped v4: report the v4 address
  }
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) return g.map((x) => x.toString(16)).join(':');
  const head = g.slice(0, bestStart).map((x) => x.toString(16)).join(':');
  const tail = g.slice(bestStart + bestLen).map((x) => x.toString(16)).join(':');
  return `${head}::${tail}`;
}

/** AAAA rdata (16 bytes at `off`) → canonical text. */
export function formatIPv6Bytes(buf: Buffer, off: number): string {
  const g = new Array<number>(8);
  for (let i = 0; i < 8; i++) g[i] = buf.readUInt16BE(off + i * 2);
  return formatIPv6Groups(g);
}

/** A rdata (4 bytes at `off`) → dotted quad. */
export function formatIPv4Bytes(buf: Buffer, off: number): string {
  return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
}

/** Address literal → 4 or 16 bytes (for A/AAAA rdata), or null. */
export function ipToBytes(ip: string): Buffer | null {
  if (isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  const s = ip.replace(/%.*$/, '');
  if (!isIPv6(s)) return null;
  const groups = parseIPv6(s);
  if (!groups) return null;
  const out = Buffer.allocUnsafe(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}
