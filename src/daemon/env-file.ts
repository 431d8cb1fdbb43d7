/**
 * `<public>/sandcat.env`: the variables agents source. Pure rendering; see public-files.ts for IO.
 * Every value is single-quoted for POSIX sh, so sourcing it in sh or bash yields exactly the
 * configured bytes whatever they hold ($, `, \, ", newlines, spaces, ', unicode).
 */
import { SandcatError } from '../errors.js';
import type { Settings } from '../settings/index.js';
import { ENV_NAME } from '../settings/schema.js';

/** 'it''s' → 'it'\''s': close the quote, an escaped quote, reopen. Nothing else is special inside '…'. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export interface EnvEntry {
  name: string;
  value: string;
}

/** env values, then each secret's placeholder under the secret's name (a secret wins a name clash). */
export function envEntries(settings: Pick<Settings, 'env' | 'secrets'>): { entries: EnvEntry[]; warnings: string[] } {
  const warnings: string[] = [];
  const byName = new Map<string, string>();
  for (const [name, value] of Object.entries(settings.env)) byName.set(name, value);
  for (const [name, def] of Object.entries(settings.secrets)) {
    if (byName.has(name)) warnings.push(`env.${name} is also a secret; sandcat.env exports the secret's placeholder`);
    byName.set(name, def.placeholder);
  }
  return { entries: [...byName].map(([name, value]) => ({ name, value })), warnings };
}

export function renderEnvFile(entries: readonly EnvEntry[]): string {
  const lines = ['# Written by the sandcat daemon. Source it: . /sandcat/public/sandcat.env', '# Secrets appear only as placeholders; the proxy swaps in real values for allowed hosts.'];
  for (const { name, value } of entries) {
    if (!ENV_NAME.test(name)) {
      throw new SandcatError('E_ENV_NAME', `"${name}" is not a valid shell variable name`, { hint: 'use letters, digits and _, not starting with a digit' });
    }
    if (value.includes('\0')) throw new SandcatError('E_ENV_VALUE', `the value of ${name} contains a NUL byte, which no shell variable can hold`);
    lines.push(`export ${name}=${shellQuote(value)}`);
  }
  return lines.join('\n') + '\n';
}
