import { existsSync, readFileSync } from 'node:fs';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import type { Logger } from '../../log.js';

/** Debian/Ubuntu's system bundle; node's own store is Mozilla's list, which misses local additions. */
const SYSTEM_BUNDLES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt'];

/**
 * The CAs upstream certificates are verified against: node's roots, the system bundle,
 * NODE_EXTRA_CA_CERTS, the proxy's configured files and the settings' `upstream_ca`. Passing `ca`
 * to node replaces its default store, so everything is listed explicitly. Built once per distinct
 * `upstream_ca` value: parsing a few hundred certificates per connection would dominate.
 */
export class UpstreamTrust {
  readonly #base: string[];
  readonly #contexts = new Map<string, SecureContext>();
  readonly #logger: Logger;

  constructor(extraFiles: readonly string[], logger: Logger) {
    this.#logger = logger;
    const files = [...SYSTEM_BUNDLES.filter((f) => existsSync(f))];
    if (process.env.NODE_EXTRA_CA_CERTS) files.push(process.env.NODE_EXTRA_CA_CERTS);
    files.push(...extraFiles);
    this.#base = [...rootCertificates];
    for (const f of files) {
      const pem = this.#read(f);
      if (pem) this.#base.push(pem);
    }
  }

  #read(file: string): string | null {
    try {
      const text = readFileSync(file, 'utf8');
      if (!text.includes('-----BEGIN CERTIFICATE-----')) {
        this.#logger.error({ file }, `upstream CA file ${file} holds no PEM certificate; ignored`);
        return null;
      }
      return text;
    } catch (err) {
      this.#logger.error({ file, err: (err as Error).message }, `cannot read upstream CA file ${file}; ignored (upstreams signed by it will fail verification)`);
      return null;
    }
  }

  /** The client context for upstream TLS, given settings' `upstream_ca` (a PEM path) or null. */
  contextFor(upstreamCa: string | null): { key: string; context: SecureContext } {
    const key = upstreamCa ?? '';
    let context = this.#contexts.get(key);
    if (!context) {
      const ca = [...this.#base];
      if (upstreamCa) {
        const pem = this.#read(upstreamCa);
        if (pem) ca.push(pem);
      }
      context = createSecureContext({ ca, minVersion: 'TLSv1.2' });
      this.#contexts.set(key, context);
    }
    return { key, context };
  }
}
