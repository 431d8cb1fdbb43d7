/**
 * Globs are looked up by their literal tail instead of tested one by one. The index must give
 * exactly the decision of the plain ordered walk (first applying rule wins), so it is checked
 * against that walk on many random rule lists and hosts.
 */
import { describe, expect, it } from 'vitest';
import { compilePolicy, decide, globToRegExp, normalizeHost, type RuleDefinition } from '../../../src/policy/index.js';
import { literalTail } from '../../../src/policy/policy.js';

/** The reference: every rule in order, name rules only (hosts here are never IP literals). */
function linearDecide(rules: RuleDefinition[], host: string, method?: string): number | null {
  const h = normalizeHost(host);
  for (const [i, r] of rules.entries()) {
    if (method && r.method && r.method.toUpperCase() !== method.toUpperCase()) continue;
    if (globToRegExp(normalizeHost(r.host)).test(h)) return i;
  }
  return null;
}

/** A small deterministic PRNG so a failure can be replayed. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

const LABELS = ['a', 'b', 'api', 'github', 'com', 'evil', 'x1', 'io'];
const PATTERN_PARTS = ['*', '?', '[ab]', '[!a]', '*.', '.', 'a', 'b', 'api', 'github', 'com', 'io', 'hub.com', 'b.io', ']', '['];

describe('glob tail index', () => {
  it('literalTail stops at any glob character', () => {
    expect(literalTail('*.github.com')).toBe('.github.com');
    expect(literalTail('*github.com')).toBe('github.com');
    expect(literalTail('api?.region1.example.net')).toBe('.region1.example.net');
    expect(literalTail('api.*')).toBe('');
    expect(literalTail('a[bc]d.io')).toBe('d.io');
    expect(literalTail('x[.io')).toBe('.io');
  });

  it('decides exactly as the ordered walk, on 3,000 random policies', () => {
    const rand = rng(20261204);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
    let matched = 0;
    for (let round = 0; round < 3000; round++) {
      const rules: RuleDefinition[] = [];
      const n = 1 + Math.floor(rand() * 12);
      for (let i = 0; i < n; i++) {
        let host = '';
        const parts = 1 + Math.floor(rand() * 4);
        for (let k = 0; k < parts; k++) host += pick(PATTERN_PARTS);
        if (rand() < 0.2) host = host.toUpperCase();
        rules.push({ layer: 'user', index: i, action: rand() < 0.5 ? 'allow' : 'deny', host, ...(rand() < 0.3 ? { method: pick(['GET', 'post']) } : {}) });
      }
      const policy = compilePolicy(rules);
      for (let q = 0; q < 8; q++) {
        const labels = 1 + Math.floor(rand() * 3);
        const host = Array.from({ length: labels }, () => pick(LABELS)).join(pick(['.', '', '.']));
        const method = rand() < 0.5 ? pick(['GET', 'POST', 'get']) : undefined;
        const want = linearDecide(rules, host, method);
        const got = decide(policy, { host, method });
        const gotIndex = got.rule ? rules.indexOf(got.rule as RuleDefinition) : null;
        expect({ rules: rules.map((r) => [r.host, r.method]), host, method, index: gotIndex }).toEqual({ rules: rules.map((r) => [r.host, r.method]), host, method, index: want });
        if (want !== null) matched++;
      }
    }
    // The generator must exercise matches, not only default denies.
    expect(matched).toBeGreaterThan(2000);
  });

  it('an earlier glob with a shorter tail still beats a later one with a longer tail', () => {
    const policy = compilePolicy([
      { layer: 'user', index: 0, action: 'deny', host: '*hub.com' },
      { layer: 'user', index: 1, action: 'allow', host: '*.github.com' },
      { layer: 'user', index: 2, action: 'allow', host: 'api.github.com' },
    ]);
    expect(decide(policy, { host: 'api.github.com' })).toMatchObject({ action: 'deny', rule: { index: 0 } });
    expect(decide(policy, { host: 'evilgithub.io' }).reason).toBe('no-rule-matched');
  });
});
