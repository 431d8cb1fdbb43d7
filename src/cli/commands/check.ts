/**
 * `sandcat check`: what the daemon would do with one HTTP request or one DNS lookup, as one JSON
 * object on stdout. The evaluation below mirrors the proxy's order (src/proxy/http/prepare.ts):
 *  1. policy on every name the request claims (URL host, Host header), method and port → 403;
 *  2. placeholders in the URL, headers and Basic credentials: over plain HTTP any → 403
 *     (cleartext); over TLS toward a host outside the secret's hosts → 403 (leak);
 *  3. the body: an encoding sandcat cannot decode → 415; placeholders as in 2.
 * Substitution and leaks depend only on placeholders and hosts, so no secret is ever looked up:
 * the vault is built with empty values. Nothing printed can hold a real secret.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { formatError, SandcatError } from '../../errors.js';
import { compilePolicy, decide, decideAll, normalizeHost, type Decision, type RuleDefinition } from '../../policy/index.js';
import { cleartextMessage, leakMessage, parseContentEncoding, SecretVault, substituteRequestHead } from '../../secrets/index.js';
import { DAEMON_FLAGS } from '../../daemon/options.js';
import { loadSettings, type Settings } from '../../settings/index.js';
import { flagHelp, parseFlags, type FlagSpec } from '../args.js';
import { settingsWarnings } from '../settings-warnings.js';

// The daemon's own defaults, so check finds what the daemon would find in the same container.
export const CONTAINER_USER_SETTINGS = DAEMON_FLAGS['user-settings'].default;
export const CONTAINER_PROJECT_DIR = DAEMON_FLAGS['project-dir'].default;
/** What sandcat's compose files set SANDCAT_USER_SETTINGS to in the proxy container (the user directory is mounted at /config/user). */
const COMPOSE_USER_SETTINGS = '/config/user/settings.json';

export const CHECK_FLAGS = {
  'user-settings': { type: 'string', env: 'SANDCAT_USER_SETTINGS', help: `user settings file (in sandcat's proxy container the env twin says ${COMPOSE_USER_SETTINGS}; else ${CONTAINER_USER_SETTINGS} in a container, else ~/.config/sandcat/settings.json)` },
  'project-dir': { type: 'string', env: 'SANDCAT_PROJECT_DIR', help: `the project's .sandcat directory (default ${CONTAINER_PROJECT_DIR} in the container, else ./.sandcat)` },
  request: { type: 'string', short: 'X', help: 'check an HTTP request: --request METHOD URL' },
  header: { type: 'string', short: 'H', multiple: true, help: "a request header, 'Name: value' (repeatable)" },
  data: { type: 'string', short: 'd', help: 'the request body' },
  dns: { type: 'string', help: 'check a DNS lookup of this name instead' },
} satisfies Record<string, FlagSpec>;

export const help = `usage: sandcat check [settings options] --request METHOD URL [-H 'Name: value']… [--data BODY]
       sandcat check [settings options] --dns NAME

Answer "why was this blocked?": print, as one JSON object, what the sandcat daemon would do with
this request or lookup under the given settings, without sending anything anywhere:

  {"kind": "http"|"dns", "decision": "allow"|"deny", "status": 200|403|415|null,
   "rcode": "NOERROR"|"REFUSED" (dns only), "rule": {"layer", "index", "action", "host", "method"}|null,
   "substituted": [secret names], "leak": secret name|null, "reason": "…", "note": "…" (only when there is one)}

"rule" is the rule that decided (index counts within its layer's file, from 0); null means no rule
matched (default deny). "substituted" names the secrets whose placeholders would be replaced;
"leak" the secret whose placeholder blocked the request (toward a host outside its "hosts", or in
plain HTTP). No secret is looked up and no value is ever printed; "note" says when a substituted
secret's configured "value" is "" (it would be replaced by nothing).

Settings are found like the daemon finds them: --user-settings and --project-dir, or their
SANDCAT_* twins. In sandcat's proxy container compose sets SANDCAT_USER_SETTINGS to
${COMPOSE_USER_SETTINGS} (your ~/.config/sandcat is mounted at /config/user) and the project's
.sandcat/ is ${CONTAINER_PROJECT_DIR}, so "docker compose exec proxy sandcat check …" needs no flags.
Without flags or twins, the daemon's defaults (${CONTAINER_USER_SETTINGS}, ${CONTAINER_PROJECT_DIR}) are
used when they exist, else the host's: ~/.config/sandcat/settings.json and ./.sandcat.

Exit status: 0 allowed, 1 denied, 2 the settings are invalid or the arguments wrong (message on stderr).
Settings warnings go to stderr: the ones the daemon logs, rule pitfalls included (a host glob such
as "*github.com" that also matches evilgithub.com, a port written into a host).

examples:
  sandcat check --request GET https://api.github.com/user -H 'Authorization: Bearer SANDCAT_PLACEHOLDER_GITHUB_TOKEN'
  sandcat check --request POST https://api.example.com/v1 --data '{"key": "SANDCAT_PLACEHOLDER_API_KEY"}'
  sandcat check --user-settings ~/.config/sandcat/settings.json --project-dir .sandcat --request GET http://example.com/
  sandcat check --dns evil.example

options:
${flagHelp(CHECK_FLAGS)}
`;

export interface CheckRule {
  layer: RuleDefinition['layer'];
  index: number;
  action: RuleDefinition['action'];
  host: string;
  method: string | null;
  port?: number;
}

export interface CheckResult {
  kind: 'http' | 'dns';
  decision: 'allow' | 'deny';
  status: number | null;
  rcode?: 'NOERROR' | 'REFUSED';
  rule: CheckRule | null;
  substituted: string[];
  leak: string | null;
  reason: string;
  /** Something the decision does not show: e.g. a substituted secret whose configured value is "". */
  note?: string;
}

export interface HttpCheck {
  method: string;
  url: string;
  headers: readonly string[];
  body?: string;
}

function ruleOf(d: Decision): CheckRule | null {
  if (!d.rule) return null;
  const r = d.rule;
  return { layer: r.layer, index: r.index, action: r.action, host: r.host, method: r.method ? r.method.toUpperCase() : null, ...(r.port !== undefined ? { port: r.port } : {}) };
}

/** A vault that knows every placeholder and host list but no value: enough to decide. */
export function placeholderVault(settings: Settings): SecretVault {
  return new SecretVault(Object.values(settings.secrets).map((d) => ({ name: d.name, placeholder: d.placeholder, value: '', hosts: d.hosts })));
}

function usage(message: string): SandcatError {
  return new SandcatError('E_USAGE', message, { hint: 'run sandcat check --help' });
}

/** Split 'Name: value' lines into node's flat raw header list. */
export function parseHeaderLines(lines: readonly string[]): string[] {
  const raw: string[] = [];
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw usage(`header "${line}" must look like 'Name: value'`);
    const name = line.slice(0, colon).trim();
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw usage(`"${name}" is not a valid header name`);
    raw.push(name, line.slice(colon + 1).trim());
  }
  return raw;
}

function headerValue(raw: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) return raw[i + 1];
  return undefined;
}

/** The daemon's verdict on one HTTP request. Pure. */
export function evaluateHttp(settings: Settings, req: HttpCheck): CheckResult {
  const method = req.method.toUpperCase();
  if (!/^[A-Z]+$/.test(method)) throw usage(`"${req.method}" is not an HTTP method`);
  let url: URL;
  try {
    url = new URL(req.url);
  } catch {
    throw usage(`"${req.url}" is not an absolute URL such as https://example.com/path`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw usage(`only http:// and https:// URLs can be checked, not ${url.protocol}`);
  const tls = url.protocol === 'https:';
  const port = url.port ? Number(url.port) : tls ? 443 : 80;
  const urlHost = normalizeHost(url.hostname);
  const raw = [...req.headers];
  // curl and git turn user:password in a URL into Basic credentials; so does this check.
  if ((url.username || url.password) && headerValue(raw, 'authorization') === undefined) {
    const creds = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    raw.push('Authorization', `Basic ${Buffer.from(creds, 'utf8').toString('base64')}`);
  }
  const hostHeader = headerValue(raw, 'host');
  const authority = hostHeader !== undefined ? normalizeHost(hostHeader.replace(/:\d+$/, '')) : urlHost;
  // The URL host is both the name dialled (DNS) and, over TLS, the SNI; Host may claim another.
  const names = authority === urlHost ? [urlHost] : [urlHost, authority];

  const policy = compilePolicy(settings.rules, settings.configured);
  const decision = decideAll(policy, names, method, port);
  const base = { kind: 'http' as const, rule: ruleOf(decision), substituted: [] as string[], leak: null as string | null };
  if (decision.action === 'deny') return { ...base, decision: 'deny', status: 403, reason: decision.explain };

  const vault = placeholderVault(settings);
  const target = authority;
  const rawPath = req.url.replace(/^[a-z]+:\/\/[^/?#]*/i, '').replace(/#.*$/, '') || '/';
  const head = substituteRequestHead(vault, { url: rawPath.startsWith('/') ? rawPath : `/${rawPath}`, rawHeaders: raw, host: target, tls });
  if (!head.ok) return { ...base, decision: 'deny', status: 403, leak: head.secret, reason: head.message };
  const substituted = new Set(head.substituted);

  if (req.body !== undefined && !vault.isEmpty) {
    const coding = parseContentEncoding(headerValue(raw, 'content-encoding'));
    if (!coding.ok) {
      return { ...base, decision: 'deny', status: 415, reason: `the request body is encoded with "${coding.coding}", which sandcat cannot decode to check it for secret placeholders` };
    }
    const bodyText = Buffer.from(req.body, 'utf8').toString('latin1');
    if (!tls) {
      const found = vault.scan(bodyText);
      if (found.length) return { ...base, decision: 'deny', status: 403, leak: found[0]!, reason: cleartextMessage(found, target) };
    } else {
      const r = vault.substitute(bodyText, target, true);
      if (!r.ok) return { ...base, decision: 'deny', status: 403, leak: r.leak, reason: leakMessage(r.leak, vault.deniedHost(r.leak, target)) };
      for (const n of r.substituted) substituted.add(n);
    }
  }
  const all = [...substituted];
  // A literal "" is a secret nobody filled in: the request would carry an empty credential.
  const empty = all.filter((n) => {
    const src = settings.secrets[n]?.source;
    return src?.kind === 'value' && src.value === '';
  });
  const subs = all.length ? `; would substitute ${all.map((n) => (empty.includes(n) ? `${n} (with an empty value)` : n)).join(', ')}` : '';
  const note = empty.length
    ? `${empty.map((n) => `secrets.${n}.value is "" in ${settings.secrets[n]!.file ?? `the ${settings.secrets[n]!.layer} settings`}`).join('; ')}: the proxy would substitute an empty value; fill ${empty.length === 1 ? 'it' : 'them'} in (sandcat edit user-settings)`
    : undefined;
  return { ...base, decision: 'allow', status: 200, substituted: all, reason: `${decision.explain}${subs}`, ...(note ? { note } : {}) };
}

/** The daemon's verdict on one DNS lookup. Pure. */
export function evaluateDns(settings: Settings, name: string): CheckResult {
  const decision = decide(compilePolicy(settings.rules, settings.configured), { host: name });
  const allowed = decision.action === 'allow';
  const extra = allowed && settings.extraHosts[decision.host] ? `; answered by sandcat from extra_hosts (${settings.extraHosts[decision.host]})` : '';
  return {
    kind: 'dns',
    decision: decision.action,
    status: null,
    rcode: allowed ? 'NOERROR' : 'REFUSED',
    rule: ruleOf(decision),
    substituted: [],
    leak: null,
    reason: `lookup ${decision.explain}${allowed ? extra : '; the name is never resolved upstream'}`,
  };
}

/** Flag, then env twin, then container paths if they exist, else the host's. */
export function settingsPaths(values: { 'user-settings'?: string; 'project-dir'?: string }, cwd = process.cwd()): { userFile: string; projectDir: string } {
  const inContainer = existsSync(CONTAINER_USER_SETTINGS) || existsSync(CONTAINER_PROJECT_DIR);
  return {
    userFile: resolve(cwd, values['user-settings'] ?? (inContainer ? CONTAINER_USER_SETTINGS : join(homedir(), '.config', 'sandcat', 'settings.json'))),
    projectDir: resolve(cwd, values['project-dir'] ?? (inContainer ? CONTAINER_PROJECT_DIR : '.sandcat')),
  };
}

export async function run(args: string[]): Promise<number> {
  let result: CheckResult;
  try {
    const { values, positionals } = parseFlags(CHECK_FLAGS, args);
    const wantsHttp = values.request !== undefined;
    if (wantsHttp === (values.dns !== undefined)) throw usage('give either --request METHOD URL or --dns NAME');
    const settings = loadSettings(settingsPaths(values));
    for (const w of settingsWarnings(settings)) process.stderr.write(`sandcat check: warning: ${w}\n`);
    if (wantsHttp) {
      let method = values.request!;
      let rest = positionals;
      if (method.includes(' ')) [method, ...rest] = [...method.trim().split(/\s+/), ...positionals];
      if (rest.length !== 1) throw usage('--request takes a method and one URL: --request GET https://example.com/');
      result = evaluateHttp(settings, { method, url: rest[0]!, headers: parseHeaderLines(values.header), body: values.data });
    } else {
      if (positionals.length) throw usage(`unexpected argument "${positionals[0]}"`);
      if (values.header.length || values.data !== undefined) throw usage('-H and --data only go with --request');
      result = evaluateDns(settings, values.dns!);
    }
  } catch (err) {
    process.stderr.write(`sandcat check: ${formatError(err)}\n`);
    return 2;
  }
  process.stdout.write(JSON.stringify(result) + '\n');
  return result.decision === 'allow' ? 0 : 1;
}
