import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { SandcatError } from '../../errors.js';
import { composeFilesOf, detectComposeTool, devcontainerCandidates, readDevcontainer, supportsReset, type DevcontainerConfig } from '../compose-files.js';
import { DEFAULTS } from './catalog.js';
import { userSettingsFile, type InitContext } from './context.js';
import { DevcontainerEditor } from './devcontainer-edit.js';
import { containerPathOf, findConflicts, planEntry, readService, type Conflict, type ServiceView } from './existing-compose.js';
import { devcontainerConflicts, reviewRunArgs, runArgsHints } from './existing-devcontainer.js';
import type { InitChoices } from './options.js';
import { AGENT_COMPOSE, LOCAL_SETTINGS_IGNORE, SANDCAT_COMPOSE, displayPath, type PlannedFile } from './plan.js';
import { outcomeLines } from './report.js';
import { AGENT_INIT_ENTRYPOINT, sandcatServices } from './templates/compose-sandcat.js';
import { projectSettings, userSettings } from './templates/settings.js';
import { writePlan } from './write-plan.js';

export interface ExistingIo {
  log(line: string): void;
}

export interface ExistingOptions {
  force: boolean;
  choices?: Partial<InitChoices>;
  /** Whether compose understands `!reset` (docker compose ≥ 2.24); detected when not given. */
  reset?: boolean;
}

const MOVABLE_KEYS = ['ports', 'expose', 'extra_hosts'] as const;

/** What sandcat-agent-init.sh needs as root (as in docker/compose.yml's agent): trust the CA, chown home, drop to the user. */
export const AGENT_SETUP_CAPS = ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'SETUID', 'SETGID'];

/** A path as compose wants it in a bind mount: relative to the first file's directory, starting with "." */
function bindPath(baseDir: string, target: string): string {
  const rel = relative(baseDir, target) || '.';
  return rel === '.' || rel === '..' || rel.startsWith('./') || rel.startsWith('../') ? rel : `./${rel}`;
}

function q(s: string): string {
  return JSON.stringify(s);
}

function findDevcontainer(root: string): DevcontainerConfig {
  const file = devcontainerCandidates(root).find((f) => existsSync(f));
  if (!file) {
    throw new SandcatError('E_NO_DEVCONTAINER', `no devcontainer.json in ${root}/.devcontainer/ or ${root}/.devcontainer.json`, {
      hint: 'run "sandcat init" without --existing to generate a sandboxed devcontainer',
    });
  }
  return readDevcontainer(file);
}

interface AgentJoin {
  service: string;
  baseDir: string;
  devcontainerDir: string;
  projectDir: string;
  containerRoot: string | undefined;
  command: string[];
  resets: string[];
}

/** The agent service's part of the override: join wg-client's network, mount the hook and the public volume. */
function agentOverride(j: AgentJoin): string {
  const mounts = [`sandcat-public:/sandcat/public:ro`];
  if (j.containerRoot) {
    // The sandbox's own configuration is read-only inside, so the agent cannot loosen it.
    const inRoot = (p: string) => `${j.containerRoot}/${relative(j.projectDir, p)}`;
    mounts.push(`${bindPath(j.baseDir, j.devcontainerDir)}:${inRoot(j.devcontainerDir)}:ro`);
    mounts.push(`${bindPath(j.baseDir, join(j.projectDir, '.sandcat'))}:${inRoot(join(j.projectDir, '.sandcat'))}:ro`);
  }
  const resets = j.resets.map((k) => `    ${k}: !reset ${k === 'hostname' || k === 'domainname' || k === 'mac_address' || k === 'network_mode' || k === 'privileged' ? 'null' : '[]'}\n`).join('');
  return `  # Your "${j.service}" service joins the sandbox: all its traffic goes through wg-client's tunnel,
  # and sandcat's setup (CA trust, sandcat.env, git identity) runs before its usual command.
  # It keeps its own user. Capabilities: only what that setup needs as root (compose adds any your
  # file lists; NET_ADMIN, NET_RAW, SYS_ADMIN are refused by sandcat init), and no-new-privileges:
  # no way to gain more (no sudo).
  ${j.service}:
    network_mode: "service:wg-client"
    depends_on:
      wg-client:
        condition: service_healthy
    cap_drop: [ALL]
    cap_add: [${AGENT_SETUP_CAPS.join(', ')}]
    security_opt: ["no-new-privileges:true"]
    entrypoint: [${AGENT_INIT_ENTRYPOINT.map(q).join(', ')}]
    command: [${j.command.map(q).join(', ')}]
    volumes:
${mounts.map((m) => `      - ${q(m)}`).join('\n')}
${resets ? `    # Keys your compose file sets that cannot coexist with a shared network namespace.\n${resets}` : ''}`;
}

/** For an image- or Dockerfile-based devcontainer: a compose service that runs the same image. */
function imageWrapper(dc: DevcontainerConfig, workspace: string, projectDir: string, baseDir: string): string {
  const d = dc.data;
  const build = (d.build && typeof d.build === 'object' ? d.build : {}) as Record<string, unknown>;
  const dockerfile = (build.dockerfile ?? d.dockerFile) as string | undefined;
  let source: string;
  if (dockerfile) {
    const context = resolve(dc.dir, String(build.context ?? d.context ?? '.'));
    const args = build.args && typeof build.args === 'object' ? Object.entries(build.args as Record<string, unknown>) : [];
    source = `    build:
      context: ${q(bindPath(baseDir, context))}
      dockerfile: ${q(relative(context, resolve(dc.dir, dockerfile)))}
${build.target ? `      target: ${q(String(build.target))}\n` : ''}${args.length ? `      args:\n${args.map(([k, v]) => `        ${k}: ${q(String(v))}`).join('\n')}\n` : ''}`;
  } else {
    source = `    image: ${q(String(d.image))}\n`;
  }
  return `# The devcontainer's image as a compose service, so it can join sandcat's network. Generated by
# sandcat init --existing from devcontainer.json; yours to edit.
services:
  agent:
${source}    # Devcontainer images usually have no long-running command of their own.
    command: ["sleep", "infinity"]
    volumes:
      - ${q(`${bindPath(baseDir, projectDir)}:${workspace}:cached`)}
`;
}

export async function runExisting(ctx: InitContext, io: ExistingIo, opts: ExistingOptions): Promise<number> {
  const dc = findDevcontainer(ctx.projectDir);
  const edit = new DevcontainerEditor(dc.text);
  const ours = join(dc.dir, SANDCAT_COMPOSE);
  const choices: InitChoices = { ...DEFAULTS, ...(opts.choices ?? {}) } as InitChoices;
  const files: PlannedFile[] = [];
  const notes: string[] = [];
  let conflicts: Conflict[] = [];
  let userComposeFiles = composeFilesOf(dc).filter((f) => resolve(f) !== resolve(ours));
  let service: string;
  let layout: 'compose' | 'image';

  if (userComposeFiles.length > 0) {
    layout = 'compose';
    if (typeof dc.data.service !== 'string') throw new SandcatError('E_DEVCONTAINER', `${dc.file} lists compose files but no "service"`, { hint: 'set "service" to the service VS Code attaches to' });
    service = dc.data.service;
  } else if (typeof dc.data.image === 'string' || dc.data.build || dc.data.dockerFile) {
    layout = 'image';
    service = 'agent';
    const wrapper = join(dc.dir, AGENT_COMPOSE);
    const workspace = typeof dc.data.workspaceFolder === 'string' ? dc.data.workspaceFolder : `/workspaces/${ctx.projectName}`;
    files.push({ path: wrapper, content: imageWrapper(dc, workspace, ctx.projectDir, dc.dir), policy: 'replace' });
    userComposeFiles = [wrapper];
    for (const key of ['image', 'build', 'dockerFile', 'context']) if (dc.data[key] !== undefined) edit.set([key], undefined, `- ${key} (now in ${AGENT_COMPOSE})`);
    edit.set(['dockerComposeFile'], [AGENT_COMPOSE], `+ dockerComposeFile: ["${AGENT_COMPOSE}"]`);
    edit.set(['service'], 'agent', '+ service: "agent"');
    if (dc.data.workspaceFolder === undefined) edit.set(['workspaceFolder'], workspace, `+ workspaceFolder: "${workspace}"`);
    if (Array.isArray(dc.data.runArgs)) {
      const { other } = reviewRunArgs(dc.data.runArgs);
      const hints = runArgsHints(other);
      if (other.length) notes.push(`devcontainer.json "runArgs" is not used with compose: move what you still need of ${other.map((a) => `"${a}"`).join(', ')} into ${AGENT_COMPOSE}${hints.length ? ` (${hints.join(', ')})` : ''}`);
    }
    if (dc.data.appPort !== undefined) notes.push(`devcontainer.json "appPort" is not used with compose: use "forwardPorts" instead`);
    if (dc.data.workspaceMount !== undefined) notes.push(`devcontainer.json "workspaceMount" is not used with compose: ${AGENT_COMPOSE} mounts the project (its "volumes")`);
  } else {
    throw new SandcatError('E_DEVCONTAINER', `${dc.file} has neither "dockerComposeFile" nor "image"/"build"`, { hint: 'add one of them, or run "sandcat init" without --existing' });
  }

  // Planning the agent's join needs the user's service as compose merges it. For the image layout
  // the wrapper is not written yet, so describe it directly.
  const baseDir = dirname(userComposeFiles[0]!);
  let view: ServiceView;
  if (layout === 'compose') view = readService(userComposeFiles, service);
  else view = { name: 'agent', config: { command: ['sleep', 'infinity'], volumes: [`${bindPath(baseDir, ctx.projectDir)}:${String(edit.get(['workspaceFolder']))}:cached`] }, origin: {}, buildBase: undefined, allServices: ['agent'] };
  conflicts = [...findConflicts(view), ...devcontainerConflicts(dc, layout === 'image')];
  const reset = opts.reset ?? detectReset();
  const entry = planEntry(view, AGENT_INIT_ENTRYPOINT);
  if (entry.note) notes.push(entry.note);
  const containerRoot = containerPathOf(view, baseDir, ctx.projectDir);
  if (!containerRoot) notes.push(`could not tell where the project is mounted in "${service}"; mount ${devcontainerRel(ctx, dc)} and .sandcat read-only over it yourself, or the agent can edit its own sandbox settings`);
  // Published ports and extra host names belong to the namespace's owner: carry them over to wg-client.
  // What an earlier run moved stays, even once the user has deleted it from "${service}" as asked.
  const previous = previouslyMoved(ours);
  const movedValues: Partial<Record<(typeof MOVABLE_KEYS)[number], unknown>> = {};
  for (const k of MOVABLE_KEYS) {
    const value = mergeMoved(previous?.values[k], view.config[k]);
    if (value !== undefined) movedValues[k] = value;
    if (previous?.values[k] !== undefined && view.config[k] === undefined) {
      notes.push(`kept ${k} ${JSON.stringify(previous.values[k])} on wg-client: the previous ${SANDCAT_COMPOSE} had moved ${k === 'extra_hosts' ? 'them' : 'it'} there from "${previous.from}"; delete ${k === 'extra_hosts' ? 'them' : 'it'} from ${SANDCAT_COMPOSE} if you no longer want ${k === 'extra_hosts' ? 'them' : 'it'}`);
    }
  }
  const moved = MOVABLE_KEYS.filter((k) => movedValues[k] !== undefined);
  const wgClientExtra = moved.length
    ? `    # Moved from "${previous?.from ?? service}" by sandcat init --existing: they must live on the namespace's owner.\n${moved.map((k) => `    ${k}: ${JSON.stringify(movedValues[k])}\n`).join('')}`
    : undefined;
  for (const c of conflicts) if ((MOVABLE_KEYS as readonly string[]).includes(c.key)) c.fix = `delete it from "${service}": ${SANDCAT_COMPOSE} already sets it on wg-client`;
  const resettable = reset ? conflicts.filter((c) => c.key !== 'cap_add' && !c.inDevcontainer) : [];
  const unresolved = conflicts.filter((c) => !resettable.includes(c));

  const override = sandcatServices({
    version: ctx.version,
    installDir: ctx.installDir,
    projectSettingsDir: bindPath(baseDir, join(ctx.projectDir, '.sandcat')),
    features: choices.features,
    wgClientExtra,
    extraServices: agentOverride({ service, baseDir, devcontainerDir: dc.dir, projectDir: ctx.projectDir, containerRoot, command: entry.command, resets: resettable.map((c) => c.key) }),
  });
  files.push({ path: ours, content: override, policy: 'replace' });
  edit.addComposeFile(relative(dc.dir, ours));
  edit.harden();

  files.push(
    { path: join(ctx.projectDir, '.sandcat', 'settings.json'), content: projectSettings(choices), policy: 'create-only' },
    { path: join(ctx.projectDir, '.gitignore'), content: `${LOCAL_SETTINGS_IGNORE}\n`, policy: 'append-line' },
    { path: userSettingsFile(ctx.home), content: userSettings(choices, ctx.git), mode: 0o600, policy: 'create-only' },
  );

  io.log(`sandcat init --existing: ${layout === 'compose' ? `compose-based devcontainer, agent service "${service}"` : 'image-based devcontainer, wrapped in a compose service "agent"'}`);
  const outcomes = writePlan(files, opts.force);
  for (const line of outcomeLines(outcomes, (p) => displayPath(p, ctx))) io.log(line);
  const blocked = outcomes.filter((o) => o.file.policy === 'replace' && o.result === 'skipped');
  if (blocked.length > 0) {
    const one = blocked.length === 1;
    io.log(
      `${blocked.map((o) => displayPath(o.file.path, ctx)).join(', ')} already exist${one ? 's' : ''} (an earlier sandcat init --existing, maybe edited since) and differ${one ? 's' : ''} from what sandcat would write now; ${one ? 'it was' : 'they were'} left in place, and so was devcontainer.json. If the sandbox works, nothing needs doing. --force would make these changes:`,
    );
    for (const o of blocked) {
      io.log(`  ${displayPath(o.file.path, ctx)}:`);
      for (const l of lineChanges(readFileSync(o.file.path, 'utf8'), o.file.content)) io.log(`    ${l}`);
    }
    io.log(`Run again with --force to replace ${one ? 'it' : 'them'} (your own edits to ${one ? 'it' : 'them'} would be lost).`);
    return 1;
  }
  if (edit.text !== dc.text) {
    writeFileSync(dc.file, edit.text);
    io.log(`  edited  ${displayPath(dc.file, ctx)} (comments kept):`);
    for (const c of edit.changes) io.log(`            ${c}`);
  } else io.log(`  unchanged  ${displayPath(dc.file, ctx)}`);
  if (layout === 'compose') io.log(`Your compose file${userComposeFiles.length > 1 ? 's' : ''} and Dockerfile are unchanged; ${SANDCAT_COMPOSE} overrides "${service}" and adds proxy and wg-client.`);
  else io.log(`What changed: the devcontainer now starts through compose (${AGENT_COMPOSE} runs your image as "agent"), next to sandcat's proxy and wg-client.`);

  for (const n of [...edit.notes, ...notes]) io.log(`note: ${n}`);
  for (const c of resettable) io.log(`note: "${c.key}"${where(c, ctx)} is removed for "${service}" with !reset (needs docker compose ≥ 2.24): ${c.why}`);
  if (unresolved.length > 0) {
    io.log('');
    const place = unresolved.every((c) => c.inDevcontainer) ? 'devcontainer.json' : unresolved.some((c) => c.inDevcontainer) ? 'your compose file and devcontainer.json' : 'your compose file';
    const onlyDc = place === 'devcontainer.json';
    io.log(`ACTION NEEDED in ${place} (sandcat does not edit ${onlyDc ? 'these keys' : 'it'}${reset || onlyDc ? '' : ', and this compose cannot remove keys from an override'}):`);
    for (const c of unresolved) io.log(`  - "${c.key}"${where(c, ctx)}: ${c.why}; ${c.fix}`);
    return 1;
  }
  io.log('Next: sandcat run   (or rebuild the container in your IDE)');
  return 0;
}

/** The keys an earlier run moved to wg-client (its "Moved from … by sandcat init --existing" block), if any. */
function previouslyMoved(file: string): { from: string; values: Record<string, unknown> } | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const marker = /# Moved from "([^"]+)" by sandcat init --existing/.exec(text);
  if (!marker) return undefined;
  try {
    const wg = (parseYaml(text) as { services?: Record<string, Record<string, unknown> | null> } | null)?.services?.['wg-client'] ?? {};
    const values = Object.fromEntries(MOVABLE_KEYS.filter((k) => wg[k] !== undefined && wg[k] !== null).map((k) => [k, wg[k]]));
    return { from: marker[1]!, values };
  } catch {
    return undefined;
  }
}

/** The user's current value, plus what an earlier run moved (lists: both, each once). */
function mergeMoved(before: unknown, now: unknown): unknown {
  if (before === undefined) return now;
  if (now === undefined) return before;
  if (Array.isArray(before) && Array.isArray(now)) {
    const seen = new Set<string>();
    return [...before, ...now].filter((v) => {
      const key = JSON.stringify(v);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  }
  if (before && now && typeof before === 'object' && typeof now === 'object') return { ...(before as object), ...(now as object) };
  return now;
}

/** A short description of how `next` differs from `current`, line by line (for what --force would do). */
export function lineChanges(current: string, next: string, max = 12): string[] {
  const a = current.split('\n');
  const b = next.split('\n');
  const inB = new Set(b);
  const inA = new Set(a);
  const removed = a.filter((l) => l.trim() && !inB.has(l)).map((l) => `- ${l.trim()}`);
  const added = b.filter((l) => l.trim() && !inA.has(l)).map((l) => `+ ${l.trim()}`);
  const all = [...removed, ...added];
  if (all.length === 0) return ['(only the order or blank lines differ)'];
  return all.length > max ? [...all.slice(0, max), `… and ${all.length - max} more line${all.length - max === 1 ? '' : 's'}`] : all;
}

function where(c: Conflict, ctx: InitContext): string {
  return c.origin ? ` (${displayPath(c.origin.file, ctx)}:${c.origin.line})` : '';
}

function devcontainerRel(ctx: InitContext, dc: DevcontainerConfig): string {
  return relative(ctx.projectDir, dc.dir) || '.';
}

function detectReset(): boolean {
  const forced = process.env.SANDCAT_COMPOSE_RESET;
  if (forced !== undefined && forced !== '') return !['0', 'false', 'no'].includes(forced.toLowerCase());
  try {
    return supportsReset(detectComposeTool());
  } catch {
    return false;
  }
}
