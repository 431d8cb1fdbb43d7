import { createSecureContext, type SecureContext } from 'node:tls';
import type { CaMaterial } from './ca.js';
import { mintLeaf } from './leaf.js';

const DAY_MS = 86_400_000;
const DEFAULT_CACHE_SIZE = 2048;

interface CachedContext {
  context: SecureContext;
  /** Re-mint once we are this close to the leaf's expiry. */
  refreshAfter: number;
}

/**
 * Mints and caches a TLS server context per host. The cache is an LRU (Map insertion order) and
 * concurrent first requests for one host share a single signing operation.
 */
export class CertificateAuthority {
  readonly #material: CaMaterial;
  readonly #cache = new Map<string, CachedContext>();
  readonly #inFlight = new Map<string, Promise<SecureContext>>();
  readonly #maxEntries: number;
  #minted = 0;

  constructor(material: CaMaterial, options: { cacheSize?: number } = {}) {
    this.#material = material;
    this.#maxEntries = options.cacheSize ?? DEFAULT_CACHE_SIZE;
  }

  /** The CA certificate (PEM) agents must trust; also written to `<public>/ca.pem`. */
  get certPem(): string {
    return this.#material.certPem;
  }

  /** How many leaves were signed since start (for tests and metrics). */
  get mintedCount(): number {
    return this.#minted;
  }

  /** A cached context, synchronously, or undefined (the hot path checks this before awaiting). */
  cachedContext(host: string): SecureContext | undefined {
    const hit = this.#cache.get(host);
    if (!hit || hit.refreshAfter < Date.now()) return undefined;
    // Refresh LRU position.
    this.#cache.delete(host);
    this.#cache.set(host, hit);
    return hit.context;
  }

  secureContextFor(host: string): Promise<SecureContext> {
    const cached = this.cachedContext(host);
    if (cached) return Promise.resolve(cached);
    let pending = this.#inFlight.get(host);
    if (!pending) {
      pending = this.#mint(host).finally(() => this.#inFlight.delete(host));
      this.#inFlight.set(host, pending);
    }
    return pending;
  }

  async #mint(host: string): Promise<SecureContext> {
    const leaf = await mintLeaf(this.#material, host);
    this.#minted++;
    const context = createSecureContext({ key: this.#material.leafKeyPem, cert: leaf.certPem, minVersion: 'TLSv1.2' });
    this.#cache.set(host, { context, refreshAfter: leaf.notAfter - 2 * DAY_MS });
    while (this.#cache.size > this.#maxEntries) this.#cache.delete(this.#cache.keys().next().value!);
    return context;
  }
}
