import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCaMaterial, loadOrCreateCa } from '../../src/proxy/tls/ca.js';
import { mintLeaf } from '../../src/proxy/tls/leaf.js';

const dir = mkdtempSync(join(tmpdir(), 'h3-ca-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sandcat CA', () => {
  it('creates an ECDSA P-256 CA with private keys 0600 and the certificate in the public dir, and reuses it', async () => {
    const state = join(dir, 'state');
    const pub = join(dir, 'public');
    const first = await loadOrCreateCa(state, pub);
    expect(statSync(join(state, 'ca-key.pem')).mode & 0o777).toBe(0o600);
    expect(statSync(join(state, 'leaf-key.pem')).mode & 0o777).toBe(0o600);
    const cert = new X509Certificate(readFileSync(join(pub, 'ca.pem')));
    expect(cert.ca).toBe(true);
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    const again = await loadOrCreateCa(state, pub);
    expect(again.certPem).toBe(first.certPem);
    expect(readFileSync(join(state, 'leaf-key.pem'), 'utf8')).toBe(readFileSync(join(state, 'leaf-key.pem'), 'utf8'));
  });

  it('mints leaves signed by the CA, backdated a day, with the host (or IP) in the SAN', async () => {
    const material = await loadCaMaterial(join(dir, 'state'), join(dir, 'public'));
    const caCert = new X509Certificate(material.certPem);
    for (const [host, san] of [
      ['api.test', 'DNS:api.test'],
      ['10.1.2.3', 'IP Address:10.1.2.3'],
    ]) {
      const leaf = new X509Certificate((await mintLeaf(material, host!)).certPem);
      expect(leaf.verify(caCert.publicKey)).toBe(true);
      expect(leaf.subjectAltName).toBe(san);
      expect(Date.now() - new Date(leaf.validFrom).getTime()).toBeGreaterThan(23 * 3600_000);
      expect(leaf.ca).toBe(false);
    }
  });

  it('caches one SecureContext per host and shares a single signing between concurrent callers', async () => {
    const ca = await loadOrCreateCa(join(dir, 'state'), join(dir, 'public'));
    const [a, b] = await Promise.all([ca.secureContextFor('same.test'), ca.secureContextFor('same.test')]);
    expect(a).toBe(b);
    expect(ca.mintedCount).toBe(1);
    expect(ca.cachedContext('same.test')).toBe(a);
    await ca.secureContextFor('other.test');
    expect(ca.mintedCount).toBe(2);
  });
});
