/** The one start/reload log line: what the daemon will enforce, without any secret value. */
import type { PolicySnapshot } from './live-state.js';

export interface PolicySummary {
  configured: boolean;
  settingsFiles: string[];
  rules: Record<string, number>;
  secrets: string[];
  env: string[];
  dnsServers: string[] | 'system';
  generation: number;
}

export function summarize(snap: PolicySnapshot): { summary: PolicySummary; message: string } {
  const rules: Record<string, number> = { local: 0, project: 0, user: 0 };
  for (const r of snap.settings.rules) rules[r.layer] = (rules[r.layer] ?? 0) + 1;
  const summary: PolicySummary = {
    configured: snap.settings.configured,
    settingsFiles: snap.settings.sources.filter((s) => s.present).map((s) => s.file),
    rules,
    secrets: Object.keys(snap.settings.secrets),
    env: Object.keys(snap.settings.env),
    dnsServers: snap.settings.dnsServers ?? 'system',
    generation: snap.generation,
  };
  const message = !snap.settings.configured
    ? 'no settings file found: every name and request is denied (see docs for ~/.config/sandcat/settings.json)'
    : `policy: ${rules.local} local, ${rules.project} project, ${rules.user} user rules; secrets: ${summary.secrets.join(', ') || 'none'}`;
  return { summary, message };
}
