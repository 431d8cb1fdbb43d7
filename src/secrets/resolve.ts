import type { Logger } from '../log.js';
import type { SecretDefinition, Settings } from '../settings/index.js';
import type { LookupResult } from './lookup-command.js';
import { opToken, readOnePassword } from './source-onepassword.js';
import { openProtonPass, protonToken } from './source-proton-pass.js';
import type { ResolvedSecret } from './vault.js';

export interface ResolveOptions {
  logger: Logger;
  /** The environment for tokens and for the lookup tools (PATH). Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** How long one lookup may take before it is killed. Default 15 s. */
  timeoutMs?: number;
}

export const DEFAULT_LOOKUP_TIMEOUT_MS = 15_000;

/**
 * Turn secret definitions into real values, all lookups at once.
 * - `value`: as written;
 * - `op`: `op read` (source-onepassword.ts);
 * - `pass`: `pass-cli item view` after a login with a personal access token (source-proton-pass.ts).
 * A failed or hung lookup resolves to an empty value with a warning naming the secret and the
 * cause; the daemon goes on. Logs carry names and causes, never values or tokens.
 */
export async function resolveSecrets(settings: Settings, opts: ResolveOptions): Promise<ResolvedSecret[]> {
  const env = opts.env ?? process.env;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_LOOKUP_TIMEOUT_MS;
  const defs = Object.values(settings.secrets);
  const log = opts.logger;

  const needsPass = defs.some((d) => d.source.kind === 'pass');
  const pass = needsPass ? await openProtonPass({ env, token: protonToken(env, settings.protonPassToken), timeoutMs }) : null;
  const op = opToken(env, settings.opServiceAccountToken);

  const lookup = async (def: SecretDefinition): Promise<LookupResult> => {
    const { source } = def;
    if (source.kind === 'value') return { ok: true, stdout: source.value };
    if (source.kind === 'op') return readOnePassword(source.ref, { env, token: op, timeoutMs });
    if (!pass || !pass.ok) return { ok: false, cause: pass?.cause ?? 'Proton Pass is not available' };
    return pass.read(source.ref);
  };

  try {
    const results = await Promise.all(defs.map(lookup));
    return defs.map((def, i) => {
      const r = results[i]!;
      if (!r.ok) {
        log.warn({ secret: def.name, source: def.source.kind, cause: r.cause }, `secret ${def.name}: ${def.source.kind}:// lookup failed (${r.cause}); it resolves to empty`);
      } else if (r.stdout === '' && def.source.kind !== 'value') {
        log.warn({ secret: def.name, source: def.source.kind }, `secret ${def.name}: the ${def.source.kind}:// lookup returned an empty value`);
      }
      return { name: def.name, placeholder: def.placeholder, value: r.ok ? r.stdout : '', hosts: def.hosts };
    });
  } finally {
    if (pass?.ok) await pass.close();
  }
}
