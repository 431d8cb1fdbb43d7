import { isIP } from 'node:net';
import { posix as path } from 'node:path';
import type { Layer, RuleDefinition } from '../policy/types.js';
import { SettingsError } from '../errors.js';
import { KNOWN_KEYS, isEnabled, settingsFileSchema, type SettingsFile } from './schema.js';
import { defaultPlaceholder, type LayerSource, type SecretDefinition, type Settings } from './model.js';

/** One layer's file as read from disk: its text, or null when the file does not exist. */
export interface RawLayer {
  layer: Layer;
  file: string;
  text: string | null;
}

/** Lowest precedence first: user, then project, then local. */
export const LAYER_ORDER: readonly Layer[] = ['user', 'project', 'local'];

function jsonPath(segments: readonly PropertyKey[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (typeof s === 'string' && /^[A-Za-z_$][\w$]*$/.test(s)) out += out ? `.${s}` : s;
    else out += `[${JSON.stringify(String(s))}]`;
  }
  return out || '(top level)';
}

function lineColumn(text: string, message: string): string {
  const m = /position (\d+)/.exec(message);
  if (!m) return '';
  const before = text.slice(0, Number(m[1]));
  const line = before.split('\n').length;
  const col = before.length - before.lastIndexOf('\n');
  return ` (line ${line}, column ${col})`;
}

/** Parse and validate one layer. Throws SettingsError naming file, JSON path and the fix. */
export function parseLayer(raw: RawLayer & { text: string }): { file: SettingsFile; warnings: string[] } {
  let data: unknown;
  try {
    data = JSON.parse(raw.text);
  } catch (err) {
    const msg = (err as Error).message;
    throw new SettingsError(raw.file, '', `is not valid JSON: ${msg}${lineColumn(raw.text, msg)}`, 'fix the JSON syntax (settings files take no comments or trailing commas)');
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new SettingsError(raw.file, '(top level)', 'must be a JSON object', 'wrap the settings in { … }');
  }
  const result = settingsFileSchema.safeParse(data);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const where = jsonPath(issue.path);
    const hint = hintFor(where, issue.message);
    throw new SettingsError(raw.file, where, issue.message, hint);
  }
  const warnings: string[] = [];
  const warnUnknown = (obj: Record<string, unknown>, known: string[], where: string) => {
    for (const key of Object.keys(obj)) if (!known.includes(key)) warnings.push(`${raw.file}: unknown key ${where ? `${where}.` : ''}${key} is ignored`);
  };
  const file = result.data;
  warnUnknown(file, KNOWN_KEYS.root, '');
  file.network?.forEach((r, i) => warnUnknown(r, KNOWN_KEYS.rule, `network[${i}]`));
  for (const [name, s] of Object.entries(file.secrets ?? {})) {
    warnUnknown(s, KNOWN_KEYS.secret, `secrets.${name}`);
    if (s.value !== undefined && /^(op|pass):\/\//.test(s.value)) {
      const key = s.value.startsWith('op://') ? 'op' : 'pass';
      warnings.push(`${raw.file}: secrets.${name}.value looks like a ${key}:// reference; it is used literally. Did you mean "${key}": "${s.value}"?`);
    }
    if (s.hosts.length === 0) warnings.push(`${raw.file}: secrets.${name} has no "hosts", so its placeholder is blocked everywhere`);
  }
  return { file, warnings };
}

function hintFor(where: string, message: string): string | undefined {
  if (where.endsWith('.action')) return 'use "action": "allow" or "action": "deny"';
  if (where.startsWith('secrets') && message.includes('exactly one')) return 'give the secret one of "value": "…", "op": "op://…" or "pass": "pass://…"';
  if (where.startsWith('env') || where.startsWith('secrets')) return 'names must look like shell variables, e.g. GITHUB_TOKEN';
  if (where.endsWith('.port')) return 'use a number from 1 to 65535';
  return undefined;
}

/**
 * Merge validated layers the way sandcat does:
 * - env, secrets, extra_hosts: per key, the higher layer wins;
 * - network: local rules first, then project, then user;
 * - tokens: the highest non-empty value; dns_servers: the highest layer that sets it.
 */
export function mergeLayers(raws: readonly RawLayer[]): Settings {
  const byLayer = new Map<Layer, { raw: RawLayer; file: SettingsFile }>();
  const warnings: string[] = [];
  const sources: LayerSource[] = [];
  for (const layer of LAYER_ORDER) {
    const raw = raws.find((r) => r.layer === layer);
    if (!raw) continue;
    sources.push({ layer, file: raw.file, present: raw.text !== null });
    if (raw.text === null) continue;
    const parsed = parseLayer(raw as RawLayer & { text: string });
    warnings.push(...parsed.warnings);
    byLayer.set(layer, { raw, file: parsed.file });
  }

  const env: Record<string, string> = {};
  const secrets: Record<string, SecretDefinition> = {};
  const extraHosts: Record<string, string> = {};
  let dnsServers: string[] | null = null;
  let upstreamCa: string | null = null;
  let opToken: string | null = null;
  let protonToken: string | null = null;

  for (const layer of LAYER_ORDER) {
    const entry = byLayer.get(layer);
    if (!entry) continue;
    const { file, raw } = entry;
    Object.assign(env, file.env ?? {});
    for (const [name, s] of Object.entries(file.secrets ?? {})) {
      const source = s.value !== undefined ? { kind: 'value' as const, value: s.value } : s.op !== undefined ? { kind: 'op' as const, ref: s.op } : { kind: 'pass' as const, ref: s.pass! };
      secrets[name] = { name, source, hosts: s.hosts, placeholder: s.placeholder ?? defaultPlaceholder(name), layer };
    }
    for (const [name, ip] of Object.entries(file.extra_hosts ?? {})) {
      if (isIP(ip)) extraHosts[name.toLowerCase().replace(/\.+$/, '')] = ip;
      else warnings.push(`${raw.file}: extra_hosts.${name} = "${ip}" is not an IP address; ignored`);
    }
    if (file.dns_servers !== undefined) {
      dnsServers = file.dns_servers.filter((s) => {
        if (isIP(s)) return true;
        warnings.push(`${raw.file}: dns_servers entry "${s}" is not an IP address; dropped`);
        return false;
      });
    }
    if (file.upstream_ca) upstreamCa = path.isAbsolute(file.upstream_ca) ? file.upstream_ca : path.join(path.dirname(raw.file), file.upstream_ca);
    if (file.op_service_account_token) opToken = file.op_service_account_token;
    if (file.proton_pass_token) protonToken = file.proton_pass_token;
  }

  const rules: RuleDefinition[] = [];
  for (const layer of [...LAYER_ORDER].reverse()) {
    const entry = byLayer.get(layer);
    entry?.file.network?.forEach((r, index) => {
      if (!isEnabled(r.enabled)) return;
      rules.push({ action: r.action, host: r.host, method: r.method, port: r.port, intercept: r.intercept, layer, index });
    });
  }

  const placeholders = new Map<string, string>();
  for (const s of Object.values(secrets)) {
    const other = placeholders.get(s.placeholder);
    if (other) throw new SettingsError(s.layer, `secrets.${s.name}.placeholder`, `is the same as the placeholder of ${other}`, 'give each secret its own placeholder');
    placeholders.set(s.placeholder, s.name);
  }

  const configured = byLayer.size > 0;
  if (!configured) warnings.push('no settings file was found in any layer: every request and lookup is denied');
  return { configured, sources, env, secrets, rules, dnsServers, extraHosts, upstreamCa, opServiceAccountToken: opToken, protonPassToken: protonToken, warnings };
}
