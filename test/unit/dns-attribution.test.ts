import { describe, expect, it } from 'vitest';
import { NameAttribution } from '../../src/dns/attribution.js';

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (s: number) => (t += s * 1000) };
}

describe('NameAttribution', () => {
  it('returns the names that resolved to an address for that client, most recent first', () => {
    const c = clock();
    const a = new NameAttribution({ now: c.now });
    a.record('10.77.0.2', 'api.github.com', ['140.82.112.5', '140.82.112.6'], 60);
    c.advance(1);
    a.record('10.77.0.2', 'codeload.github.com', ['140.82.112.5'], 60);
    expect(a.namesFor('10.77.0.2', '140.82.112.5')).toEqual(['codeload.github.com', 'api.github.com']);
    expect(a.namesFor('10.77.0.2', '140.82.112.6')).toEqual(['api.github.com']);
    c.advance(1);
    a.record('10.77.0.2', 'api.github.com', ['140.82.112.5'], 60); // answered again: most recent
    expect(a.namesFor('10.77.0.2', '140.82.112.5')).toEqual(['api.github.com', 'codeload.github.com']);
  });

  it('keeps clients apart', () => {
    const a = new NameAttribution();
    a.record('10.77.0.2', 'a.test', ['192.0.2.1'], 60);
    expect(a.namesFor('10.77.0.3', '192.0.2.1')).toEqual([]);
  });

  it('matches mapped and differently spelled addresses', () => {
    const a = new NameAttribution();
    a.record('::ffff:10.77.0.2', 'v6.test', ['2001:0db8:0:0:0:0:0:1'], 60);
    a.record('10.77.0.2', 'v4.test', ['192.0.2.9'], 60);
    expect(a.namesFor('10.77.0.2', '2001:db8::1')).toEqual(['v6.test']);
    expect(a.namesFor('::ffff:10.77.0.2', '::ffff:192.0.2.9')).toEqual(['v4.test']);
  });

  it('expires entries after the TTL, clamped to the minimum and maximum', () => {
    const c = clock();
    const a = new NameAttribution({ now: c.now, minTtlSeconds: 60, maxTtlSeconds: 600 });
    a.record('c', 'zero.test', ['192.0.2.1'], 0);
    a.record('c', 'long.test', ['192.0.2.2'], 86_400);
    c.advance(59);
    expect(a.namesFor('c', '192.0.2.1')).toEqual(['zero.test']);
    c.advance(2);
    expect(a.namesFor('c', '192.0.2.1')).toEqual([]);
    c.advance(538);
    expect(a.namesFor('c', '192.0.2.2')).toEqual(['long.test']);
    c.advance(2);
    expect(a.namesFor('c', '192.0.2.2')).toEqual([]);
    expect(a.size).toBe(0);
  });

  it('stays within its size cap, dropping the least recently answered addresses first', () => {
    const a = new NameAttribution({ maxEntries: 100 });
    for (let i = 0; i < 250; i++) a.record('c', `n${i}.test`, [`192.0.${i >> 8}.${i & 255}`], 300);
    expect(a.size).toBeLessThanOrEqual(100);
    expect(a.namesFor('c', '192.0.0.249')).toEqual(['n249.test']);
    expect(a.namesFor('c', '192.0.0.0')).toEqual([]);
  });

  it('can key two client addresses as one peer', () => {
    const a = new NameAttribution({ clientKey: () => 'peer' });
    a.record('fd00:77::2', 'a.test', ['192.0.2.1'], 60);
    expect(a.namesFor('10.77.0.2', '192.0.2.1')).toEqual(['a.test']);
  });
});
