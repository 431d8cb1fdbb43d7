import type { SecretDefinition, Settings } from './model.js';

export interface SettingsChange {
  /** One line for the reload log: only what changed (rule counts, secret names), or "nothing changed". Names only, never values. */
  summary: string;
  rules: { before: number; after: number; changed: boolean };
  secrets: { names: string[]; added: string[]; removed: string[]; changed: string[] };
  env: { changed: string[] };
  /** dns_servers, extra_hosts or upstream_ca differ. */
  otherChanged: string[];
  /** False when the reload changed nothing that matters. */
  any: boolean;
}

function sameSecret(a: SecretDefinition, b: SecretDefinition): boolean {
  return JSON.stringify([a.source, a.hosts, a.placeholder]) === JSON.stringify([b.source, b.hosts, b.placeholder]);
}

const ruleKey = (s: Settings) => JSON.stringify(s.rules.map((r) => [r.layer, r.index, r.action, r.host, r.method, r.port, r.intercept]));

/** What a reload changed, for the log line: `rules 5 → 6; secrets added NPM_TOKEN`, or `nothing changed`. */
export function describeSettingsChange(before: Settings, after: Settings): SettingsChange {
  const names = Object.keys(after.secrets).sort();
  const added = names.filter((n) => !(n in before.secrets));
  const removed = Object.keys(before.secrets).filter((n) => !(n in after.secrets)).sort();
  const changed = names.filter((n) => n in before.secrets && !sameSecret(before.secrets[n]!, after.secrets[n]!));
  const envNames = [...new Set([...Object.keys(before.env), ...Object.keys(after.env)])].sort();
  const envChanged = envNames.filter((n) => before.env[n] !== after.env[n]);
  const rulesChanged = ruleKey(before) !== ruleKey(after);
  const otherChanged = (
    [
      ['dns_servers', before.dnsServers, after.dnsServers],
      ['extra_hosts', before.extraHosts, after.extraHosts],
      ['upstream_ca', before.upstreamCa, after.upstreamCa],
    ] as const
  )
    .filter(([, a, b]) => JSON.stringify(a) !== JSON.stringify(b))
    .map(([k]) => k);

  // Only what changed: a secret is named when it was added, removed, or its value, hosts or
  // placeholder differ, never merely for being there.
  const parts: string[] = [];
  if (rulesChanged) parts.push(`rules ${before.rules.length} → ${after.rules.length}${before.rules.length === after.rules.length ? ' (edited)' : ''}`);
  const delta = [added.length ? `added ${added.join(', ')}` : '', removed.length ? `removed ${removed.join(', ')}` : '', changed.length ? `changed ${changed.join(', ')}` : ''].filter(Boolean);
  if (delta.length) parts.push(`secrets ${delta.join(', ')}`);
  if (envChanged.length) parts.push(`env changed ${envChanged.join(', ')}`);
  if (otherChanged.length) parts.push(`${otherChanged.join(', ')} changed`);
  if (before.configured !== after.configured) parts.push(after.configured ? 'settings found' : 'no settings file left: everything is denied');
  const any = rulesChanged || added.length + removed.length + changed.length + envChanged.length + otherChanged.length > 0 || before.configured !== after.configured;
  return {
    summary: any ? parts.join('; ') : 'nothing changed',
    rules: { before: before.rules.length, after: after.rules.length, changed: rulesChanged },
    secrets: { names, added, removed, changed },
    env: { changed: envChanged },
    otherChanged,
    any,
  };
}
