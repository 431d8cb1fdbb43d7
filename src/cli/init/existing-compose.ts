import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { LineCounter, parseDocument, isMap, isScalar, type Pair } from 'yaml';
import { SandcatError } from '../../errors.js';

/**
 * Reading the user's own compose files for `--existing`: the agent service as compose would merge
 * it, where each key came from (file and line, for messages), and what the service runs.
 */

/** Keys Docker refuses next to `network_mode: service:…`, or that would let the agent undo the sandbox. */
export const CONFLICTING_KEYS = ['ports', 'expose', 'networks', 'hostname', 'domainname', 'dns', 'dns_search', 'dns_opt', 'extra_hosts', 'mac_address', 'links', 'network_mode'] as const;
export const DANGEROUS_CAPS = ['NET_ADMIN', 'SYS_ADMIN', 'ALL', 'NET_RAW'];

export interface KeyOrigin {
  file: string;
  line: number;
}

export interface ServiceView {
  name: string;
  /** Shallow merge of the service across files, later files winning per key (as compose does). */
  config: Record<string, unknown>;
  origin: Record<string, KeyOrigin>;
  /** The file that defines `build`, so its relative paths can be resolved. */
  buildBase: string | undefined;
  allServices: string[];
}

export function readService(files: readonly string[], name: string): ServiceView {
  const config: Record<string, unknown> = {};
  const origin: Record<string, KeyOrigin> = {};
  const all = new Set<string>();
  let buildBase: string | undefined;
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false });
    if (doc.errors.length > 0) throw new SandcatError('E_COMPOSE_FILE', `${file}: ${doc.errors[0]!.message}`, { hint: 'fix the YAML; compose cannot read it either' });
    const services = doc.get('services', true);
    if (!isMap(services)) continue;
    for (const pair of services.items as Pair[]) {
      const svcName = isScalar(pair.key) ? String(pair.key.value) : '';
      all.add(svcName);
      if (svcName !== name || !isMap(pair.value)) continue;
      for (const item of pair.value.items as Pair[]) {
        if (!isScalar(item.key)) continue;
        const key = String(item.key.value);
        config[key] = (item.value as { toJSON?: () => unknown } | null)?.toJSON?.() ?? (isScalar(item.value) ? item.value.value : item.value);
        const offset = item.key.range?.[0] ?? 0;
        origin[key] = { file, line: lines.linePos(offset).line };
        if (key === 'build') buildBase = dirname(file);
      }
    }
  }
  if (!all.has(name)) {
    throw new SandcatError('E_NO_SERVICE', `no service "${name}" in ${files.join(', ')}`, {
      hint: `devcontainer.json's "service" must name one of: ${[...all].join(', ') || '(none found)'}`,
    });
  }
  return { name, config, origin, buildBase, allServices: [...all] };
}

export interface Conflict {
  key: string;
  origin: KeyOrigin | undefined;
  why: string;
  /** Shown when the key cannot be reset from the override. */
  fix: string;
  /** Set in devcontainer.json, not a compose file: never removable with `!reset`. */
  inDevcontainer?: boolean;
}

export function findConflicts(view: ServiceView): Conflict[] {
  const out: Conflict[] = [];
  for (const key of CONFLICTING_KEYS) {
    if (view.config[key] === undefined) continue;
    if (key === 'network_mode' && view.config[key] === 'service:wg-client') continue;
    out.push({
      key,
      origin: view.origin[key],
      why: key === 'network_mode' ? 'the agent must share wg-client\'s network' : 'Docker rejects it on a service that shares another\'s network namespace',
      fix:
        key === 'ports' || key === 'expose'
          ? 'remove it; forward ports with your IDE ("forwardPorts" in devcontainer.json)'
          : key === 'extra_hosts'
            ? 'remove it; put the names in sandcat\'s settings "extra_hosts" instead'
            : key === 'links' || key === 'networks'
              ? 'remove it; sibling services stay reachable by name through wg-client'
              : 'remove it',
    });
  }
  const caps = Array.isArray(view.config.cap_add) ? (view.config.cap_add as unknown[]).map((c) => String(c).toUpperCase().replace(/^CAP_/, '')) : [];
  const bad = caps.filter((c) => DANGEROUS_CAPS.includes(c));
  if (bad.length > 0) out.push({ key: 'cap_add', origin: view.origin.cap_add, why: `${bad.join(', ')} would let the agent change the tunnel's firewall and leave the sandbox`, fix: `remove ${bad.join(', ')} from cap_add` });
  if (view.config.privileged === true) out.push({ key: 'privileged', origin: view.origin.privileged, why: 'a privileged agent can undo the kill switch', fix: 'remove "privileged: true"' });
  return out;
}

/** Compose splits a string entrypoint/command like a shell would (no shell runs it), unlike a Dockerfile. */
function asArgv(v: unknown): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) return v.map(String);
  return shellSplit(String(v));
}

/** POSIX-shell word splitting with quotes and backslashes, as compose (shlex) does for string commands. */
export function shellSplit(text: string): string[] {
  const out: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      word += text.slice(i + 1, end === -1 ? undefined : end);
      i = end === -1 ? text.length : end;
      inWord = true;
    } else if (c === '"') {
      i++;
      for (; i < text.length && text[i] !== '"'; i++) {
        if (text[i] === '\\' && i + 1 < text.length && '"\\$`'.includes(text[i + 1]!)) i++;
        word += text[i];
      }
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      word += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) out.push(word);
  return out;
}

/** ENTRYPOINT and CMD of a Dockerfile's last stage (exec or shell form); undefined when not set there. */
export function dockerfileEntry(text: string): { entrypoint?: string[]; cmd?: string[] } {
  const joined = text.replace(/\\\r?\n/g, ' ');
  let entrypoint: string[] | undefined;
  let cmd: string[] | undefined;
  for (const raw of joined.split(/\r?\n/)) {
    const m = /^\s*(FROM|ENTRYPOINT|CMD)\s+(.*)$/i.exec(raw);
    if (!m) continue;
    const kw = m[1]!.toUpperCase();
    if (kw === 'FROM') {
      entrypoint = cmd = undefined;
      continue;
    }
    let argv: string[];
    try {
      const parsed = JSON.parse(m[2]!.trim()) as unknown;
      argv = Array.isArray(parsed) ? parsed.map(String) : ['/bin/sh', '-c', m[2]!.trim()];
    } catch {
      argv = ['/bin/sh', '-c', m[2]!.trim()];
    }
    if (kw === 'ENTRYPOINT') {
      entrypoint = argv;
      cmd = undefined; // Docker resets CMD when a later ENTRYPOINT is set
    } else cmd = argv;
  }
  return { entrypoint, cmd };
}

export interface EntryPlan {
  /** What to put in `command:` so the program still runs after sandcat's hook (which execs "$@"). */
  command: string[];
  /** Said to the user when part of it had to be guessed. */
  note?: string;
}

/**
 * sandcat's hook becomes the entrypoint and then execs its arguments, so the override's command
 * must be what the container ran before: the service's (or its Dockerfile's) entrypoint plus its
 * command. Overriding the entrypoint drops the image's CMD, so that has to be carried over too.
 */
export function planEntry(view: ServiceView, hookEntrypoint: readonly string[]): EntryPlan {
  const svcEntry = asArgv(view.config.entrypoint);
  const svcCmd = asArgv(view.config.command);
  if (svcEntry && svcEntry.join('\0') === hookEntrypoint.join('\0')) return { command: svcCmd ?? ['sleep', 'infinity'] };
  let df: { entrypoint?: string[]; cmd?: string[] } = {};
  const dockerfile = dockerfilePath(view);
  if (dockerfile && existsSync(dockerfile)) df = dockerfileEntry(readFileSync(dockerfile, 'utf8'));
  const entry = svcEntry ?? df.entrypoint ?? [];
  const cmd = svcCmd ?? (svcEntry ? [] : (df.cmd ?? []));
  const command = [...entry, ...cmd];
  if (command.length > 0) return { command };
  return {
    command: ['sleep', 'infinity'],
    note: `found no entrypoint or command for "${view.name}" in its compose file${dockerfile ? ' or Dockerfile' : ''}; it now runs "sleep infinity" after sandcat's setup. If its image has its own ENTRYPOINT or CMD, put it in the override's command.`,
  };
}

export function dockerfilePath(view: ServiceView): string | undefined {
  const build = view.config.build;
  if (build === undefined || !view.buildBase) return undefined;
  const context = typeof build === 'string' ? build : String((build as Record<string, unknown>).context ?? '.');
  const dockerfile = typeof build === 'string' ? 'Dockerfile' : String((build as Record<string, unknown>).dockerfile ?? 'Dockerfile');
  const ctx = resolve(view.buildBase, context);
  return isAbsolute(dockerfile) ? dockerfile : join(ctx, dockerfile);
}

/**
 * Where the project root appears inside the container: from a bind mount whose host source contains
 * it (`..:/workspaces/app`), resolved against the first compose file's directory.
 */
export function containerPathOf(view: ServiceView, baseDir: string, hostPath: string): string | undefined {
  const volumes = Array.isArray(view.config.volumes) ? (view.config.volumes as unknown[]) : [];
  for (const v of volumes) {
    let source: string | undefined;
    let target: string | undefined;
    if (typeof v === 'string') {
      const parts = v.split(':');
      if (parts.length < 2) continue;
      [source, target] = parts as [string, string];
    } else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (o.type !== undefined && o.type !== 'bind') continue;
      source = typeof o.source === 'string' ? o.source : undefined;
      target = typeof o.target === 'string' ? o.target : undefined;
    }
    if (!source || !target || !/^[./~$]/.test(source)) continue; // named volumes are not the project
    if (source.includes('$')) continue;
    const abs = resolve(baseDir, source);
    const rel = relative(abs, hostPath);
    if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))) return rel ? `${target.replace(/\/$/, '')}/${rel}` : target;
  }
  return undefined;
}
