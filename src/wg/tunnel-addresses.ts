/** Tunnel address arithmetic (pure): the client gets the address right after the server's. */
import { isIPv4, isIPv6 } from 'node:net';
import { SandcatError } from '../errors.js';

export interface Cidr {
  address: string;
  prefix: number;
  family: 4 | 6;
}

export function parseCidr(text: string, flag = 'address'): Cidr {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text.trim());
  const address = m?.[1] ?? '';
  const family = isIPv4(address) ? 4 : isIPv6(address) ? 6 : 0;
  const prefix = Number(m?.[2]);
  if (!m || family === 0 || prefix > (family === 4 ? 32 : 128) || prefix < 1) {
    throw new SandcatError('E_USAGE', `${flag}: "${text}" is not an address with a prefix length`, { hint: 'for example 10.77.0.1/24 or fd00:77::1/64' });
  }
  return { address, prefix, family };
}

function toBigInt(c: Cidr): bigint {
  if (c.family === 4) return c.address.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
  const [head, tail = ''] = c.address.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = c.address.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

function fromBigInt(n: bigint, family: 4 | 6): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 255n)).join('.');
  const groups = [];
  for (let i = 7; i >= 0; i--) groups.push(((n >> BigInt(i * 16)) & 0xffffn).toString(16));
  // Let the URL parser produce the canonical compressed form.
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

/** The address after `c` in the same prefix (10.77.0.1/24 → 10.77.0.2/24). */
export function nextAddress(c: Cidr): Cidr {
  const bits = c.family === 4 ? 32 : 128;
  const n = toBigInt(c) + 1n;
  const hostMask = (1n << BigInt(bits - c.prefix)) - 1n;
  if ((n & hostMask) === hostMask || (n & hostMask) === 0n) {
    throw new SandcatError('E_USAGE', `${c.address}/${c.prefix} leaves no room for the client's address`, { hint: 'use the first address of the tunnel network, e.g. 10.77.0.1/24' });
  }
  return { address: fromBigInt(n, c.family), prefix: c.prefix, family: c.family };
}

export function formatCidr(c: Cidr): string {
  return `${c.address}/${c.prefix}`;
}
