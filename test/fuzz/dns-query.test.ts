/**
 * Fuzz: the DNS query parser decides which name a lookup is for; the policy decides on that name and
 * the resolver sends exactly that name upstream. On mutated real queries it must never throw, and an
 * accepted name must be plain lower-case labels whose re-encoding is the question the client sent
 * (case aside): a name the policy saw can never differ from the one forwarded.
 */
import { describe, expect, it } from 'vitest';
import { encodeName, parseQuery } from '../../src/dns/wire.js';
import { ITERATIONS, mutate, rng, SEED } from './prng.js';

function query(name: string, qtype: number, opt = false): Buffer {
  const labels = name.split('.').filter(Boolean);
  const q = Buffer.concat([...labels.flatMap((l) => [Buffer.from([l.length]), Buffer.from(l)]), Buffer.from([0, qtype >> 8, qtype & 0xff, 0, 1])]);
  const header = Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, opt ? 1 : 0]);
  const edns = opt ? Buffer.from([0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0]) : Buffer.alloc(0);
  return Buffer.concat([header, q, edns]);
}

describe('fuzz: DNS query parsing', () => {
  const seeds = [query('api.allowed.test', 1), query('denied.test', 28, true), query('x-1_y.example', 16), query('', 2)];

  it(`never throws; an accepted name is what goes upstream (seed ${SEED}, ${ITERATIONS} cases)`, () => {
    const r = rng(SEED);
    let accepted = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      const input = mutate(seeds[i % seeds.length]!, r);
      let out: ReturnType<typeof parseQuery>;
      try {
        out = parseQuery(input);
      } catch (err) {
        throw new Error(`case ${i} (seed ${SEED}) threw ${(err as Error).message} on ${input.toString('hex')}`);
      }
      if (!out.ok) continue;
      accepted++;
      const { name, questionEnd } = out.query;
      expect(name, input.toString('hex')).toMatch(/^([a-z0-9_-]+(\.[a-z0-9_-]+)*)?$/);
      const wire = input.subarray(12, questionEnd - 4);
      expect(encodeName(name).equals(Buffer.from(wire.toString('latin1').toLowerCase(), 'latin1')), input.toString('hex')).toBe(true);
    }
    expect(accepted).toBeGreaterThan(ITERATIONS / 20);
  });
});
