import type { LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { describe, expect, it } from 'vitest';
import { guardLookup, isLocalAddress, LocalAddressError } from '../../src/proxy/upstream/address-guard.js';
import { classifyUpstreamError } from '../../src/proxy/upstream/failure.js';

/** A lookup that answers every name with `answer`, honouring `all` the way node's does. */
function fixed(answer: LookupAddress[]): LookupFunction {
  return ((_h: string, opts: { all?: boolean }, cb: (e: null, a: unknown, f?: number) => void) =>
    opts.all ? cb(null, answer) : cb(null, answer[0]!.address, answer[0]!.family)) as unknown as LookupFunction;
}

function run(lookup: LookupFunction, all: boolean): Promise<{ err: NodeJS.ErrnoException | null; address: unknown; family?: number }> {
  return new Promise((resolve) => lookup('loop.test', { all }, (err, address, family) => resolve({ err, address, family })));
}

describe('isLocalAddress', () => {
  it.each(['127.0.0.1', '127.8.9.1', '0.0.0.0', '169.254.169.254', '::1', '::', 'fe80::1', '::ffff:127.0.0.1', '::FFFF:169.254.1.1', '::ffff:7f00:1', '0:0:0:0:0:0:0:1'])('%s is local', (ip) => {
    expect(isLocalAddress(ip)).toBe(true);
  });
  it.each(['10.201.0.10', '8.8.8.8', '2001:db8::1', 'fd00:77::2', '::ffff:10.0.0.1', '128.0.0.1'])('%s is not', (ip) => {
    expect(isLocalAddress(ip)).toBe(false);
  });
  it("counts the proxy's own tunnel addresses, in any spelling", () => {
    expect(isLocalAddress('10.77.0.1', ['10.77.0.1', 'fd00:77::1'])).toBe(true);
    expect(isLocalAddress('::ffff:10.77.0.1', ['10.77.0.1'])).toBe(true);
    expect(isLocalAddress('FD00:77::1', ['fd00:77::1'])).toBe(true);
    expect(isLocalAddress('10.77.0.2', ['10.77.0.1'])).toBe(false);
    for (const ip of ['fd00:0077::1', 'fd00:77:0::1', '::ffff:a4d:1']) expect(isLocalAddress(ip, ['10.77.0.1', 'fd00:77::1']), ip).toBe(true);
  });
});

describe('guardLookup', () => {
  it('fails a name that resolves only to local addresses, with a 502 that says why', async () => {
    const g = guardLookup(fixed([{ address: '127.0.0.1', family: 4 }, { address: '::1', family: 6 }]));
    for (const all of [true, false]) {
      const r = await run(g, all);
      expect(r.err).toBeInstanceOf(LocalAddressError);
      const f = classifyUpstreamError(r.err, 'loop.test', 443);
      expect(f.status).toBe(502);
      expect(f.message).toBe('loop.test resolves to 127.0.0.1, ::1, a local address sandcat does not connect to');
    }
  });

  it('keeps the public addresses of a mixed answer', async () => {
    const g = guardLookup(fixed([{ address: '127.0.0.1', family: 4 }, { address: '10.201.0.10', family: 4 }]));
    expect((await run(g, true)).address).toEqual([{ address: '10.201.0.10', family: 4 }]);
    const one = await run(g, false);
    expect([one.address, one.family]).toEqual(['10.201.0.10', 4]);
  });

  it('passes lookup errors through unchanged', async () => {
    const boom = Object.assign(new Error('lookup ENOTFOUND x'), { code: 'ENOTFOUND' });
    const g = guardLookup(((_h: string, _o: unknown, cb: (e: Error) => void) => cb(boom)) as unknown as LookupFunction);
    expect((await run(g, false)).err).toBe(boom);
  });
});
