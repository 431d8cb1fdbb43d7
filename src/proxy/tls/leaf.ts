// x509 loads tsyringe, which needs the Reflect metadata API first.
import 'reflect-metadata';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';
import { EC_ALGORITHM, randomSerial, type CaMaterial } from './ca.js';

const DAY_MS = 86_400_000;
/** Short-lived: a leaked leaf is worth little, and the cache re-mints before expiry. */
export const LEAF_VALIDITY_MS = 30 * DAY_MS;

export interface MintedLeaf {
  certPem: string;
  notAfter: number;
}

/**
 * One leaf certificate for `host` (a DNS name or an IP literal), certified for the shared leaf key
 * and signed by the sandcat CA. The host goes into the SAN, which is all modern clients check.
 */
export async function mintLeaf(ca: CaMaterial, host: string): Promise<MintedLeaf> {
  const now = Date.now();
  const notAfter = now + LEAF_VALIDITY_MS;
  const ip = isIP(host) !== 0;
  // CN is limited to 64 characters; long names live only in the SAN.
  const cn = host.length <= 64 ? host : 'sandcat leaf';
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `CN=${cn.replace(/[,+="\\<>;#]/g, '\\$&')}`,
    issuer: ca.cert.subject,
    // Backdated a day: clients with a slow clock otherwise reject a certificate "from the future".
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(notAfter),
    signingAlgorithm: EC_ALGORITHM,
    publicKey: ca.leafPublicKey,
    signingKey: ca.caKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: ip ? 'ip' : 'dns', value: host }]),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
    ],
  });
  return { certPem: cert.toString('pem'), notAfter };
}
