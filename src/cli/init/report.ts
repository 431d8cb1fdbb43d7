import { compilePolicy, decide } from '../../policy/index.js';
import { loadSettings } from '../../settings/index.js';
import { AGENT_INFO, type Agent } from './catalog.js';
import type { WriteOutcome } from './write-plan.js';

/** One line per file: what happened to it and, when it was left alone, why. */
export function outcomeLines(outcomes: readonly WriteOutcome[], show: (path: string) => string): string[] {
  const width = Math.max(...outcomes.map((o) => o.result.length));
  return outcomes.map((o) => `  ${o.result.padEnd(width)}  ${show(o.file.path)}${o.reason ? `  (${o.reason})` : ''}`);
}

/**
 * The user settings file is only written on first run, so a later init for another agent may find
 * that agent's API hosts not allowed. Say which, rather than let the first request fail.
 */
export function missingAgentHosts(agent: Agent, userFile: string): string[] {
  const hosts = AGENT_INFO[agent].hosts.map((h) => h.replace(/^\*\./, 'api.'));
  if (hosts.length === 0) return [];
  try {
    const settings = loadSettings({ userFile, projectDir: '/nonexistent-sandcat-project' });
    const policy = compilePolicy(settings.rules.filter((r) => r.layer === 'user'), settings.configured);
    return hosts.filter((host) => decide(policy, { host, method: 'POST', port: 443 }).action !== 'allow');
  } catch {
    return []; // a broken file is reported by `sandcat edit user-settings` and by the daemon
  }
}
