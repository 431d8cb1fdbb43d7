import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { SandcatError } from '../errors.js';

/** Where the agent meant to connect before nft `redirect` sent the connection to us. */
export interface OriginalDestination {
  /** IPv4 dotted quad or IPv6 text (never `::ffff:`-mapped). */
  address: string;
  port: number;
}

export type OriginalDestinationFn = (socket: Socket) => OriginalDestination;

// <linux/netfilter_ipv4.h>, <linux/netfilter_ipv6/ip6_tables.h>
const SOL_IP = 0;
const SOL_IPV6 = 41;
const SO_ORIGINAL_DST = 80;

type GetSockOpt = (fd: number, level: number, name: number, out: Buffer, len: number[]) => number;
let getsockopt: GetSockOpt | null = null;
let errnoFn: (() => number) | null = null;

/** Bound lazily: tests that inject their own destination never load the FFI. */
function bind(): GetSockOpt {
  if (getsockopt) return getsockopt;
  const require = createRequire(import.meta.url);
  const koffi = require('koffi') as typeof import('koffi');
  const libc = koffi.load('libc.so.6');
  getsockopt = libc.func('int getsockopt(int, int, int, _Out_ uint8_t *optval, _Inout_ uint32_t *optlen)') as unknown as GetSockOpt;
  errnoFn = () => koffi.errno();
  return getsockopt;
}

function formatV6(buf: Buffer, off: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push(buf.readUInt16BE(off + i * 2).toString(16));
  // Compress the longest run of zero groups, as inet_ntop does.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return groups.join(':');
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLen).join(':')}`;
}

/**
 * getsockopt(SO_ORIGINAL_DST) on the accepted socket (~7 µs). A v4 client on our dual-stack
 * listener appears as `::ffff:a.b.c.d` and must be asked at SOL_IP; a v6 client at SOL_IPV6.
 * Throws (fail closed) if the kernel has no NAT record for the connection.
 */
export function soOriginalDestination(socket: Socket): OriginalDestination {
  const fn = bind();
  const handle = (socket as unknown as { _handle?: { fd?: number } })._handle;
  const fd = handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new SandcatError('E_ORIGINAL_DST', 'the accepted socket has no file descriptor');
  const remote = socket.remoteAddress ?? '';
  const v6 = socket.remoteFamily === 'IPv6' && !remote.startsWith('::ffff:');
  const buf = Buffer.alloc(v6 ? 28 : 16);
  const len = [buf.length];
  const rc = fn(fd, v6 ? SOL_IPV6 : SOL_IP, SO_ORIGINAL_DST, buf, len);
  if (rc !== 0) {
    throw new SandcatError('E_ORIGINAL_DST', `getsockopt(SO_ORIGINAL_DST) failed with errno ${errnoFn?.() ?? '?'}`, {
      hint: 'the connection did not come through the nft redirect rule',
    });
  }
  const port = buf.readUInt16BE(2);
  const address = v6 ? formatV6(buf, 8) : `${buf[4]}.${buf[5]}.${buf[6]}.${buf[7]}`;
  return { address, port };
}

/** Strip the `::ffff:` prefix node uses for v4 peers on a dual-stack socket. */
export function plainAddress(address: string | undefined): string {
  if (!address) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
