import { isIP } from 'node:net';
import { posix as path } from 'node:path';
import type { Layer, RuleDefinition } from '../policy/types.js';
import { normalizeHost } from '../policy/glob.js';
import { SettingsError } from '../errors.js';
import { isEnabled, type SettingsFile } from './schema.js';
import { parseLayer, type RawLayer } from './parse-layer.js';
import { defaultPlaceholder, type LayerSource, type SecretDefinition, type Settings } from './model.js';

export { parseLayer, type RawLayer } from './parse-layer.js';

/** Lowest precedence first: user, then project, then local. */
export const LAYER_ORDER: readonly Layer[] = ['user', 'project', 'local'];

interface ParsedLayer {
  raw: RawLayer;
  file: SettingsFile;
}

/**
 * Merge validated layers the way sandcat does:
 *  1. env, secrets, extra_hosts: per key, the higher layer wins (user < project < local);
 *  2. network: local rules first, then project, then user (so local rules are tried first);
 *  3. op_service_account_token, proton_pass_token: the highest layer with a non-empty value;
 *  4. dns_servers, upstream_ca: the highest layer that sets the key.
 * No layer at all means `configured: false`: everything is denied, and the warnings say why.
 */
export function mergeLayers(raws: readonly RawLayer[]): Settings {
  const byLayer = new Map<Layer, ParsedLayer>();
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
      const source = s.value !== undefined ? { kind: 'value' as const, value: s.value } : s.op !== undefined ? { kind: 'op' as const, ref: s.op.trim() } : { kind: 'pass' as const, ref: s.pass!.trim() };
      secrets[name] = { name, source, hosts: s.hosts, placeholder: s.placeholder ?? defaultPlaceholder(name), layer, file: raw.file };
    }
    for (const [name, ip] of Object.entries(file.extra_hosts ?? {})) {
      if (isIP(ip.trim())) extraHosts[normalizeHost(name)] = ip.trim();
      else warnings.push(`${raw.file}: extra_hosts.${name} = "${ip}" is not an IP address; ignored`);
    }
    if (file.dns_servers !== undefined) {
      dnsServers = [];
      file.dns_servers.forEach((s, i) => {
        if (typeof s === 'string' && isIP(s.trim())) dnsServers!.push(s.trim());
        else warnings.push(`${raw.file}: dns_servers[${i}] = ${JSON.stringify(s)} is not an IP address; dropped (only IP literals, no ports or names)`);
      });
      if (dnsServers.length === 0 && file.dns_servers.length > 0) warnings.push(`${raw.file}: dns_servers has no usable entry; the proxy uses its system resolver`);
    }
    if (file.upstream_ca) upstreamCa = path.isAbsolute(file.upstream_ca) ? file.upstream_ca : path.join(path.dirname(raw.file), file.upstream_ca);
    if (file.op_service_account_token?.trim()) opToken = file.op_service_account_token.trim();
    if (file.proton_pass_token?.trim()) protonToken = file.proton_pass_token.trim();
  }

  const rules: RuleDefinition[] = [];
  for (const layer of [...LAYER_ORDER].reverse()) {
    const entry = byLayer.get(layer);
    entry?.file.network?.forEach((r, index) => {
      if (!isEnabled(r.enabled)) return;
      const rule: RuleDefinition = { action: r.action, host: r.host, layer, index, file: entry.raw.file };
      if (r.method !== undefined) rule.method = r.method;
      if (r.port !== undefined) rule.port = r.port;
      if (r.intercept !== undefined) rule.intercept = r.intercept;
      rules.push(rule);
    });
  }

  checkPlaceholders(secrets);
  for (const name of Object.keys(secrets)) {
    if (name in env) warnings.push(`${secrets[name]!.file}: secrets.${name} and env.${name} share a name; the agent sees the secret's placeholder`);
  }

  const configured = byLayer.size > 0;
  if (!configured) warnings.push(`no settings file was found (looked for ${sources.map((s) => s.file).join(', ')}): every request and lookup is denied`);
  return { configured, sources, env, secrets, rules, dnsServers, extraHosts, upstreamCa, opServiceAccountToken: opToken, protonPassToken: protonToken, warnings };
}

/**
 * Two secrets with one placeholder would make substitution ambiguous. The error names the file of
 * the later (higher-layer or later-listed) secret, where the fix most likely belongs.
 */
function checkPlaceholders(secrets: Record<string, SecretDefinition>): void {
  const seen = new Map<string, SecretDefinition>();
  for (const s of Object.values(secrets)) {
    const other = seen.get(s.placeholder);
    if (other) {
      const otherWhere = other.file === s.file ? '' : ` (in ${other.file})`;
      throw new SettingsError(s.file ?? `${s.layer} settings`, `secrets.${s.name}.placeholder`, `is the same as the placeholder of secret ${other.name}${otherWhere}`, 'give each secret its own placeholder, or leave "placeholder" out for SANDCAT_PLACEHOLDER_<NAME>');
    }
    seen.set(s.placeholder, s);
  }
}
