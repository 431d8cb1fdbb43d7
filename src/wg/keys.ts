import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SandcatError } from '../errors.js';
import { runCommand } from './run-command.js';

/** A WireGuard key pair whose private half stays in a 0600 file; only the public half is in memory. */
export interface KeyPair {
  privateKeyFile: string;
  publicKey: string;
}

const KEY_SHAPE = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

function readKey(file: string): string | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  if (!KEY_SHAPE.test(text)) {
    // Regenerating would silently invalidate every client config handed out, so stop instead.
    throw new SandcatError('E_WG_KEY_INVALID', `${file} does not hold a WireGuard private key`, {
      hint: `delete ${file} to generate a new key (clients then need the new client.conf)`,
    });
  }
  return text;
}

/**
 * Load `<dir>/<name>.key`, or generate it with `wg genkey` on first start. The file is written
 * 0600 via temp + rename so a crash never leaves half a key; an existing file is tightened to 0600.
 */
export async function ensureKeyPair(dir: string, name: string): Promise<KeyPair> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `${name}.key`);
  let privateKey = readKey(file);
  if (privateKey === null) {
    privateKey = (await runCommand('wg', ['genkey'])).stdout.trim();
    const tmp = `${file}.tmp-${process.pid}`;
    writeFileSync(tmp, privateKey + '\n', { mode: 0o600 });
    renameSync(tmp, file);
  }
  chmodSync(file, 0o600);
  const publicKey = (await runCommand('wg', ['pubkey'], { input: privateKey + '\n' })).stdout.trim();
  return { privateKeyFile: file, publicKey };
}

/** The private key's text, for writing the client's wg-quick config. Never log it. */
export function readPrivateKey(pair: KeyPair): string {
  return readFileSync(pair.privateKeyFile, 'utf8').trim();
}
