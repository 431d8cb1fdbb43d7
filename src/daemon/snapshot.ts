import type { Logger } from '../log.js';
import { compilePolicy } from '../policy/index.js';
import { SecretVault, } from '../secrets/index.js';
import { resolveSecrets } from '../secrets/resolve.js';
import type { Settings } from '../settings/index.js';
import type { PolicySnapshot } from './live-state.js';

/** Settings → everything the hot path needs, compiled once. Used at start and on every reload. */
export async function buildSnapshot(settings: Settings, logger: Logger): Promise<Omit<PolicySnapshot, 'generation'>> {
  const policy = compilePolicy(settings.rules, settings.configured);
  for (const w of policy.warnings) logger.warn(w);
  const vault = new SecretVault(await resolveSecrets(settings, { logger }));
  return { settings, policy, vault };
}
