// x509 loads tsyringe, which needs the Reflect metadata API first.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { SandcatError } from '../../errors.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

/** ECDSA P-256 everywhere: ~4 ms to sign a leaf, against ~270 ms for an RSA keygen per host. */
export const EC_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export const CA_CERT_FILE = 'ca.pem';
export const CA_KEY_FILE = 'ca-key.pem';
export const LEAF_KEY_FILE = 'leaf-key.pem';

const CA_VALIDITY_DAYS = 3650;
const DAY_MS = 86_400_000;

/** The CA as the leaf minter needs it. Private keys never leave the proxy process. */
export interface CaMaterial {
  readonly cert: x509.X509Certificate;
  readonly certPem: string;
  readonly caKey: webcrypto.CryptoKey;
  /** The one key every leaf certificate certifies (PKCS#8 PEM for node:tls, CryptoKey for signing). */
  readonly leafKeyPem: string;
  readonly leafPublicKey: webcrypto.CryptoKey;
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

function pemBody(text: string): Buffer {
  return Buffer.from(text.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

async function generateKeyPair(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(EC_ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

async function exportPrivatePem(key: webcrypto.CryptoKey): Promise<string> {
  return pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', key));
}

async function importPrivatePem(text: string): Promise<webcrypto.CryptoKey> {
  return webcrypto.subtle.importKey('pkcs8', pemBody(text), EC_ALGORITHM, true, ['sign']);
}

/** The public half of a PKCS#8 EC key, through node's KeyObject (WebCrypto cannot derive it). */
async function publicFromPrivatePem(text: string): Promise<webcrypto.CryptoKey> {
  const { createPrivateKey, createPublicKey } = await import('node:crypto');
  const spki = createPublicKey(createPrivateKey(text)).export({ type: 'spki', format: 'der' });
  return webcrypto.subtle.importKey('spki', spki, EC_ALGORITHM, true, ['verify']);
}

/** Serial numbers: 16 random bytes, top bit clear so the DER integer stays positive. */
export function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0]! &= 0x7f;
  return Buffer.from(bytes).toString('hex');
}

async function writePrivate(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, text, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

async function readIfExists(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

async function createCa(): Promise<{ cert: x509.X509Certificate; key: webcrypto.CryptoKey }> {
  const keys = await generateKeyPair();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: 'CN=sandcat CA, O=sandcat',
    // Backdated a day so a client with a slightly slow clock still accepts it.
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + CA_VALIDITY_DAYS * DAY_MS),
    signingAlgorithm: EC_ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, key: keys.privateKey };
}

/**
 * Load the CA and the shared leaf key from `stateDir` (private, 0600 files), or create them on first
 * start. The CA certificate is (re)written to `<publicDir>/ca.pem` so clients can trust it. A restart
 * reuses the same CA, so agents that trusted it keep trusting it.
 */
export async function loadCaMaterial(stateDir: string, publicDir: string): Promise<CaMaterial> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  await mkdir(publicDir, { recursive: true });
  const caKeyPath = join(stateDir, CA_KEY_FILE);
  const caCertPrivatePath = join(stateDir, CA_CERT_FILE);
  const leafKeyPath = join(stateDir, LEAF_KEY_FILE);

  let caKeyPem = await readIfExists(caKeyPath);
  let caCertPem = await readIfExists(caCertPrivatePath);
  let cert: x509.X509Certificate | null = null;
  let caKey: webcrypto.CryptoKey | null = null;
  if (caKeyPem && caCertPem) {
    try {
      cert = new x509.X509Certificate(caCertPem);
      caKey = await importPrivatePem(caKeyPem);
    } catch (err) {
      throw new SandcatError('E_CA_UNREADABLE', `the sandcat CA in ${stateDir} cannot be read: ${(err as Error).message}`, {
        hint: `delete ${caKeyPath} and ${caCertPrivatePath} to create a new CA (agents must then trust the new ca.pem)`,
        cause: err,
      });
    }
    if (cert.notAfter.getTime() < Date.now() + DAY_MS) cert = null; // expired or about to: make a new one
  }
  if (!cert || !caKey) {
    const created = await createCa();
    cert = created.cert;
    caKey = created.key;
    caKeyPem = await exportPrivatePem(caKey);
    caCertPem = cert.toString('pem') + '\n';
    await writePrivate(caKeyPath, caKeyPem);
    await writePrivate(caCertPrivatePath, caCertPem);
  }
  // Private keys are kept 0600 even if someone loosened them.
  await chmod(caKeyPath, 0o600);

  let leafKeyPem = await readIfExists(leafKeyPath);
  if (!leafKeyPem) {
    leafKeyPem = await exportPrivatePem((await generateKeyPair()).privateKey);
    await writePrivate(leafKeyPath, leafKeyPem);
  }
  await chmod(leafKeyPath, 0o600);
  const leafPublicKey = await publicFromPrivatePem(leafKeyPem);

  const publicPem = cert.toString('pem') + '\n';
  const publicPath = join(publicDir, CA_CERT_FILE);
  if ((await readIfExists(publicPath)) !== publicPem) {
    const tmp = `${publicPath}.tmp-${process.pid}`;
    await writeFile(tmp, publicPem, { mode: 0o644 });
    await rename(tmp, publicPath);
  }
  return { cert, certPem: publicPem, caKey, leafKeyPem, leafPublicKey };
}

/** Load (or create) the CA and return the minter the proxy uses. */
export async function loadOrCreateCa(stateDir: string, publicDir: string): Promise<import('./certificate-authority.js').CertificateAuthority> {
  const { CertificateAuthority } = await import('./certificate-authority.js');
  return new CertificateAuthority(await loadCaMaterial(stateDir, publicDir));
}
