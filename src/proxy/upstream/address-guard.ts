import type { LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { canonicalIp } from '../../dns/ip.js';

/**
 * Addresses the proxy never connects to on the agent's behalf, whatever name led there: its own
 * loopback, "this host", link-local (cloud metadata at 169.254.169.254 among them) and its own
 * tunnel addresses. An allowed name that resolves there (a DNS rebinding, a hostile zone, a typo in
 * extra_hosts) would otherwise reach services that listen only inside the proxy's namespace.
 * IP literals are not resolved and so not guarded here: they reach upstream only when a rule names
 * that IP, which is the user's explicit choice.
 */
const LOCAL = new BlockList();
LOCAL.addSubnet('127.0.0.0', 8, 'ipv4');
LOCAL.addSubnet('0.0.0.0', 8, 'ipv4');
LOCAL.addSubnet('169.254.0.0', 16, 'ipv4');
LOCAL.addAddress('::1', 'ipv6');
LOCAL.addAddress('::', 'ipv6');
LOCAL.addSubnet('fe80::', 10, 'ipv6');

export function isLocalAddress(ip: string, selfAddresses: readonly string[] = []): boolean {
  // Canonical form first: a v4-mapped v6 address in any spelling is its dotted quad, and v6
  // addresses compare in one spelling (fd00:0077::1 is fd00:77::1).
  const address = canonicalIp(ip);
  if (LOCAL.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4')) return true;
  return selfAddresses.some((s) => canonicalIp(s) === address);
}

/** The error a guarded lookup fails with; `failure.ts` turns it into a 502 that says why. */
export class LocalAddressError extends Error {
  readonly code = 'ESANDCATLOCAL';
  constructor(
    readonly hostname: string,
    readonly addresses: readonly string[],
  ) {
    super(`${hostname} resolves to ${addresses.join(', ')}, a local address sandcat does not connect to`);
  }
}

/**
 * Wrap a `lookup` so local addresses are dropped from its answers; a name left with none fails
 * with LocalAddressError. Public addresses in the same answer still work (a round-robin record with
 * one bad entry keeps serving).
 */
export function guardLookup(inner: LookupFunction, selfAddresses: readonly string[] = []): LookupFunction {
  return ((hostname: string, options: unknown, callback?: unknown) => {
    const cb = (typeof options === 'function' ? options : callback) as (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;
    const opts = (typeof options === 'function' ? {} : typeof options === 'number' ? { family: options } : (options ?? {})) as { all?: boolean };
    const all = opts.all === true;
    (inner as (h: string, o: object, c: (err: NodeJS.ErrnoException | null, a: string | LookupAddress[], f?: number) => void) => void)(
      hostname,
      { ...opts, all: true },
      (err, found) => {
        if (err) return cb(err, all ? [] : '', undefined);
        const list = found as LookupAddress[];
        const kept = list.filter((a) => !isLocalAddress(a.address, selfAddresses));
        if (kept.length === 0) return cb(new LocalAddressError(hostname, list.map((a) => a.address)), all ? [] : '', undefined);
        if (all) cb(null, kept);
        else cb(null, kept[0]!.address, kept[0]!.family);
      },
    );
  }) as LookupFunction;
}
