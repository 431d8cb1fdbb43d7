import type { Logger } from '../log.js';
import type { Settings } from '../settings/index.js';
import type { ResolvedSecret } from './vault.js';

export interface ResolveOptions {
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/**
 * Turn secret definitions into real values. A failed lookup resolves to an empty value with a
 * warning naming the secret and the cause; the daemon goes on.
 */
export async function resolveSecrets(settings: Settings, opts: ResolveOptions): Promise<ResolvedSecret[]> {
  const out: ResolvedSecret[] = [];
  for (const def of Object.values(settings.secrets)) {
    let value = '';
    if (def.source.kind === 'value') value = def.source.value;
    else opts.logger.warn({ secret: def.name, source: def.source.kind }, `secret ${def.name}: ${def.source.kind}:// lookups are not supported yet; it resolves to empty`);
    out.push({ name: def.name, placeholder: def.placeholder, value, hosts: def.hosts });
  }
  return out;
}
