import { canonicalIp } from './ip.js';

export interface NameAttributionOptions {
  /**
   * Shortest time (s) an answer stays attributable, whatever its TTL. Runtimes and connection
   * pools keep using an address after its TTL ran out; a TTL of 0 or 5 s must not make the next
   * raw TCP connection to that address unattributable. Default 300.
   */
  minTtlSeconds?: number;
  /** Longest time (s) an answer stays attributable, whatever its TTL. Default 3600. */
  maxTtlSeconds?: number;
  /** Cap on (client, address, name) entries; the least recently answered go first. Default 100,000. */
  maxEntries?: number;
  /**
   * Map a client address to the key entries are stored under. Default: the canonical address.
   * A daemon with one peer that asks over IPv6 and connects over IPv4 can map both tunnel
   * addresses to one key.
   */
  clientKey?: (canonicalClientIp: string) => string;
  /** Clock (ms); for tests. */
  now?: () => number;
}

type NameExpiry = Map<string, number>; // name → expiresAt; insertion order = recency
type ByDestination = Map<string, NameExpiry>; // destination IP → names

/**
 * Which names the DNS server answered with which addresses, per client. The proxy uses it to
 * name raw TCP connections (no SNI, no Host) and to deny a connection if any name that led to its
 * address is denied. Only answers the server actually gave are recorded, so denied names (which
 * got REFUSED) never appear here.
 */
export class NameAttribution {
  readonly #minMs: number;
  readonly #maxMs: number;
  readonly #maxEntries: number;
  readonly #clientKey: (ip: string) => string;
  readonly #now: () => number;
  readonly #clients = new Map<string, ByDestination>();
  #size = 0;

  constructor(options: NameAttributionOptions = {}) {
    this.#minMs = (options.minTtlSeconds ?? 300) * 1000;
    this.#maxMs = Math.max(this.#minMs, (options.maxTtlSeconds ?? 3600) * 1000);
    this.#maxEntries = options.maxEntries ?? 100_000;
    this.#clientKey = options.clientKey ?? ((ip) => ip);
    this.#now = options.now ?? Date.now;
  }

  /** Number of (client, address, name) entries held, expired ones included until swept. */
  get size(): number {
    return this.#size;
  }

  /**
   * `name` (the name the client asked for, not a CNAME target) resolved to `addresses` for
   * `clientIp`, valid for `ttlSeconds` (clamped to the configured bounds).
   */
  record(clientIp: string, name: string, addresses: readonly string[], ttlSeconds: number): void {
    if (addresses.length === 0) return;
    const key = this.#clientKey(canonicalIp(clientIp));
    let dests = this.#clients.get(key);
    if (!dests) {
      dests = new Map();
      this.#clients.set(key, dests);
    }
    const ms = Math.min(this.#maxMs, Math.max(this.#minMs, ttlSeconds * 1000));
    const expiresAt = this.#now() + ms;
    for (const raw of addresses) {
      const dest = canonicalIp(raw);
      let names = dests.get(dest);
      if (names) dests.delete(dest); // re-inserted below: most recently answered last
      else names = new Map();
      dests.set(dest, names);
      if (names.delete(name)) this.#size--;
      names.set(name, expiresAt);
      this.#size++;
    }
    if (this.#size > this.#maxEntries) this.#evict();
  }

  /** Names that resolved to `destIp` for `clientIp` and have not expired, most recent first. */
  namesFor(clientIp: string, destIp: string): string[] {
    const dests = this.#clients.get(this.#clientKey(canonicalIp(clientIp)));
    if (!dests) return [];
    const dest = canonicalIp(destIp);
    const names = dests.get(dest);
    if (!names) return [];
    const now = this.#now();
    const out: string[] = [];
    for (const [name, expiresAt] of names) {
      if (expiresAt <= now) {
        names.delete(name);
        this.#size--;
      } else out.push(name);
    }
    if (names.size === 0) dests.delete(dest);
    return out.reverse();
  }

  clear(): void {
    this.#clients.clear();
    this.#size = 0;
  }

  /** Drop expired entries; if still over the cap, drop the least recently answered addresses. */
  #evict(): void {
    const now = this.#now();
    for (const [client, dests] of this.#clients) {
      for (const [dest, names] of dests) {
        for (const [name, expiresAt] of names) {
          if (expiresAt <= now) {
            names.delete(name);
            this.#size--;
          }
        }
        if (names.size === 0) dests.delete(dest);
      }
      if (dests.size === 0) this.#clients.delete(client);
    }
    // Evict down to 90 % so a full table does not sweep on every insert.
    const target = Math.floor(this.#maxEntries * 0.9);
    while (this.#size > target) {
      let progressed = false;
      for (const [client, dests] of this.#clients) {
        const first = dests.keys().next();
        if (first.done) {
          this.#clients.delete(client);
          continue;
        }
        this.#size -= dests.get(first.value)!.size;
        dests.delete(first.value);
        progressed = true;
        if (this.#size <= target) break;
      }
      if (!progressed) break;
    }
  }
}
