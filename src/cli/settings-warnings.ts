import { compilePolicy } from '../policy/index.js';
import type { Settings } from '../settings/index.js';

/**
 * Every warning the daemon logs for these settings: the loader's (unknown keys, empty files,
 * secrets without hosts…) and the rule compiler's pitfalls (`*github.com` also matches
 * evilgithub.com, a port in a host glob…). The CLI shows them where the user is looking instead of
 * leaving them in the daemon's log.
 */
export function settingsWarnings(settings: Pick<Settings, 'warnings' | 'rules' | 'configured'>): string[] {
  return [...settings.warnings, ...compilePolicy(settings.rules, settings.configured).warnings];
}
