import type { DnsAnswer } from './wire.js';

/**
 * Upstream answers by (type, name) until their TTL runs out. Keyed by type first so a lookup
 * builds no composite key string. Bounded: when full, the oldest insertion of some type goes
 * (insertion order per Map; a hit costs two Map lookups and no reordering).
 */
export class AnswerCache {
  readonly #byType = new Map<number, Map<string, DnsAnswer>>();
  #size = 0;
  readonly #maxEntries: number;

  constructor(maxEntries: number) {
    this.#maxEntries = Math.max(1, maxEntries);
  }

  get size(): number {
    return this.#size;
  }

  /** A live entry, or undefined. An expired entry is dropped when met. */
  get(qtype: number, name: string, now: number): DnsAnswer | undefined {
    const byName = this.#byType.get(qtype);
    if (!byName) return undefined;
    const a = byName.get(name);
    if (!a) return undefined;
    if (now >= a.receivedAt + a.cacheTtl * 1000) {
      byName.delete(name);
      this.#size--;
      return undefined;
    }
    return a;
  }

  set(qtype: number, name: string, answer: DnsAnswer): void {
    if (answer.cacheTtl <= 0) return;
    let byName = this.#byType.get(qtype);
    if (!byName) {
      byName = new Map();
      this.#byType.set(qtype, byName);
    }
    if (byName.delete(name)) this.#size--; // re-inserted at the end: newest
    byName.set(name, answer);
    this.#size++;
    while (this.#size > this.#maxEntries) this.#evictOne();
  }

  clear(): void {
    this.#byType.clear();
    this.#size = 0;
  }

  /** Drop the oldest entry of the largest per-type table. */
  #evictOne(): void {
    let largest: Map<string, DnsAnswer> | undefined;
    for (const m of this.#byType.values()) if (!largest || m.size > largest.size) largest = m;
    const first = largest?.keys().next();
    if (!largest || !first || first.done) {
      this.#size = 0;
      return;
    }
    largest.delete(first.value);
    this.#size--;
  }
}
