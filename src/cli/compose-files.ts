import { execFileSync, spawn, type StdioOptions } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parse as parseJsonc, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { SandcatError } from '../errors.js';
import type { FlagSpec } from './args.js';
import { readService } from './init/existing-compose.js';

/**
 * Finding a sandcat project's compose files and the compose program to run them with.
 * docker-compose v1 has no `include:`, so a project is always several `-f` files, in the order its
 * devcontainer.json lists them (the first file's directory is where relative paths resolve).
 */

export interface ComposeTool {
  /** The program and its leading arguments: ["docker", "compose"] or ["docker-compose"]. */
  argv: string[];
  kind: 'v1' | 'v2';
  version: string;
}

function probe(argv: string[]): string | null {
  try {
    const out = execFileSync(argv[0]!, [...argv.slice(1), 'version', '--short'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 15_000 });
    return out.trim().replace(/^v/, '') || null;
  } catch {
    return null;
  }
}

function kindOf(version: string): 'v1' | 'v2' {
  return /^1\./.test(version) ? 'v1' : 'v2';
}

/**
 * `docker compose` (v2) when the plugin answers, else `docker-compose` (v1, or a standalone v2).
 * SANDCAT_COMPOSE (e.g. "docker-compose" or "podman compose") picks one explicitly.
 */
export function detectComposeTool(env: NodeJS.ProcessEnv = process.env): ComposeTool {
  const explicit = env.SANDCAT_COMPOSE?.trim();
  const candidates = explicit ? [explicit.split(/\s+/)] : [['docker', 'compose'], ['docker-compose']];
  for (const argv of candidates) {
    const version = probe(argv);
    if (version) return { argv, kind: kindOf(version), version };
  }
  throw new SandcatError('E_NO_COMPOSE', explicit ? `"${explicit} version" failed (SANDCAT_COMPOSE)` : 'neither "docker compose" nor "docker-compose" works here', {
    hint: explicit ? 'fix SANDCAT_COMPOSE or unset it' : 'install Docker with the compose plugin (or docker-compose), and check that the engine is running',
  });
}

/** `!reset` (removing a key set by an earlier file) exists from docker compose 2.24. */
export function supportsReset(tool: Pick<ComposeTool, 'kind' | 'version'>): boolean {
  if (tool.kind !== 'v2') return false;
  const [maj = 0, min = 0] = tool.version.split('.').map((n) => parseInt(n, 10));
  return maj > 2 || (maj === 2 && min >= 24);
}

export interface DevcontainerConfig {
  file: string;
  dir: string;
  text: string;
  data: Record<string, unknown>;
}

/** Parse a JSONC devcontainer.json, failing with the line of the first syntax error. */
export function readDevcontainer(file: string): DevcontainerConfig {
  const text = readFileSync(file, 'utf8');
  const errors: ParseError[] = [];
  const data = parseJsonc(text, errors, { allowTrailingComma: true, disallowComments: false }) as unknown;
  if (errors.length > 0) {
    const e = errors[0]!;
    const line = text.slice(0, e.offset).split('\n').length;
    throw new SandcatError('E_DEVCONTAINER', `${file}: line ${line}: ${printParseErrorCode(e.error)}`, { hint: 'fix the JSON (comments and trailing commas are fine)' });
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw new SandcatError('E_DEVCONTAINER', `${file}: is not a JSON object`);
  return { file, dir: dirname(file), text, data: data as Record<string, unknown> };
}

/** Where a devcontainer.json lives in a project: the usual places, in the order the tools look. */
export function devcontainerCandidates(root: string): string[] {
  return [join(root, '.devcontainer', 'devcontainer.json'), join(root, '.devcontainer.json')];
}

export function composeFilesOf(dc: DevcontainerConfig): string[] {
  const raw = dc.data.dockerComposeFile;
  const list = typeof raw === 'string' ? [raw] : Array.isArray(raw) ? raw.filter((f): f is string => typeof f === 'string') : [];
  return list.map((f) => resolve(dc.dir, f));
}

/**
 * The compose project name the devcontainer CLI (VS Code) uses, so `sandcat run` and the IDE share
 * containers and volumes: `<folder>_devcontainer` when the first file is in <folder>/.devcontainer,
 * else the first file's directory name; lower-cased, only [-_a-z0-9] kept.
 */
export function devcontainerProjectName(root: string, firstComposeFile: string): string {
  const dir = dirname(firstComposeFile);
  const name = resolve(dir) === resolve(root, '.devcontainer') ? `${basename(resolve(root))}_devcontainer` : basename(dir);
  return name.toLowerCase().replace(/[^-_a-z0-9]/g, '');
}

export interface ComposeProject {
  root: string;
  devcontainer: DevcontainerConfig | null;
  files: string[];
  /** The agent service (devcontainer.json "service", default "agent"). */
  service: string;
  /** The user to open shells as (devcontainer.json remoteUser/containerUser), if known. */
  user: string | undefined;
  workspaceFolder: string | undefined;
  /**
   * The compose project every command acts on (see projectNameOf): COMPOSE_PROJECT_NAME when set,
   * else for a devcontainer the name VS Code uses, for plain files compose's own.
   */
  projectName: string;
  /** Where projectName came from, to say so when it is not the project's own. */
  projectNameFrom: 'COMPOSE_PROJECT_NAME' | 'devcontainer' | 'compose files';
  /** The project's own name, what projectName would be without COMPOSE_PROJECT_NAME. */
  ownProjectName: string;
  /** Whether to pass projectName with -p (devcontainers), or let compose name it as it always does. */
  passName: boolean;
  /** The directory whose .sandcat/ is the project settings layer. */
  settingsRoot: string;
}

/** A compose project name as compose accepts it: lower-case, only [-_a-z0-9]. */
function normalizeProjectName(name: string): string {
  return name.toLowerCase().replace(/[^-_a-z0-9]/g, '');
}

/**
 * The one place the compose project name is decided, for every command (status, run, proxy,
 * restart-proxy, compose): COMPOSE_PROJECT_NAME when set, as compose itself and the devcontainer
 * CLI (VS Code) do, else the project's own name.
 */
export function projectNameOf(
  own: string,
  from: 'devcontainer' | 'compose files',
  env: NodeJS.ProcessEnv,
): Pick<ComposeProject, 'projectName' | 'projectNameFrom' | 'ownProjectName'> {
  const fromEnv = normalizeProjectName(env.COMPOSE_PROJECT_NAME ?? '');
  return fromEnv ? { projectName: fromEnv, projectNameFrom: 'COMPOSE_PROJECT_NAME', ownProjectName: own } : { projectName: own, projectNameFrom: from, ownProjectName: own };
}

/** "name", or "name (from COMPOSE_PROJECT_NAME; this project's own is other)" when the environment chose it. */
export function describeProjectName(project: Pick<ComposeProject, 'projectName' | 'projectNameFrom' | 'ownProjectName'>): string {
  if (project.projectNameFrom !== 'COMPOSE_PROJECT_NAME' || project.projectName === project.ownProjectName) return project.projectName;
  return `${project.projectName} (from COMPOSE_PROJECT_NAME; this project's own is ${project.ownProjectName}: unset COMPOSE_PROJECT_NAME to use it)`;
}

/** A line for stderr when COMPOSE_PROJECT_NAME sends a command to another compose project than the project's own. */
export function projectNameNote(project: Pick<ComposeProject, 'projectName' | 'projectNameFrom' | 'ownProjectName'>): string | null {
  return project.projectNameFrom === 'COMPOSE_PROJECT_NAME' && project.projectName !== project.ownProjectName ? `compose project ${describeProjectName(project)}` : null;
}

/** `-f/--file` for the commands that drive a running sandbox (status, proxy, run, restart-proxy). */
export const COMPOSE_FILE_FLAG = {
  type: 'string',
  short: 'f',
  multiple: true,
  env: 'SANDCAT_COMPOSE_FILES',
  envSeparator: ':',
  help: "compose file to use instead of the devcontainer's (repeatable; env: ':'-separated). The Docker quick start: -f docker/compose.yml",
} satisfies FlagSpec;

/** Compose files looked for in the current directory when no devcontainer is found: the quick start's first. */
export const PLAIN_COMPOSE_CANDIDATES = ['docker/compose.yml', 'compose.yml', 'compose.yaml', 'docker-compose.yml'];

function agentUser(environment: unknown): string | undefined {
  const raw = Array.isArray(environment)
    ? environment.map(String).find((e) => e.startsWith('SANDCAT_AGENT_USER='))?.slice('SANDCAT_AGENT_USER='.length)
    : environment && typeof environment === 'object'
      ? (environment as Record<string, unknown>).SANDCAT_AGENT_USER
      : undefined;
  return typeof raw === 'string' && raw !== '' && !raw.includes('$') ? raw : undefined;
}

/**
 * A project given as plain compose files (the Docker quick start's docker/compose.yml, or -f):
 * no -p, so the CLI sees the containers `docker compose -f <file> up` made. Shells open as the
 * agent service's SANDCAT_AGENT_USER (the user its entrypoint drops to), never as root by default.
 */
export function plainComposeProject(cwd: string, files: readonly string[], env: NodeJS.ProcessEnv = process.env): ComposeProject {
  const abs = files.map((f) => resolve(cwd, f));
  for (const f of abs) {
    if (!existsSync(f)) throw new SandcatError('E_NO_COMPOSE_FILES', `compose file ${f} does not exist`, { hint: 'check -f / SANDCAT_COMPOSE_FILES (paths are relative to the current directory)' });
  }
  const service = 'agent';
  let user: string | undefined;
  let workdir: string | undefined;
  try {
    const view = readService(abs, service);
    user = agentUser(view.config.environment);
    workdir = typeof view.config.working_dir === 'string' ? view.config.working_dir : undefined;
  } catch {
    // No "agent" service: status and proxy still work; run says what compose says.
  }
  const firstDir = dirname(abs[0]!);
  const own = normalizeProjectName(basename(firstDir));
  return {
    root: resolve(cwd),
    devcontainer: null,
    files: abs,
    service,
    user,
    workspaceFolder: workdir,
    ...projectNameOf(own, 'compose files', env),
    passName: false,
    // docker/compose.yml takes the project layer from ${SANDCAT_PROJECT:-..}/.sandcat, relative to its directory.
    settingsRoot: env.SANDCAT_PROJECT ? resolve(firstDir, env.SANDCAT_PROJECT) : resolve(cwd),
  };
}

/**
 * The project to act on: the compose files given (-f, SANDCAT_COMPOSE_FILES), else the nearest
 * compose-based devcontainer at or above `start`, else a plain compose file in `start` itself
 * (docker/compose.yml, compose.yml…), which is how the Docker quick start is run.
 */
export function findProject(start: string, files: readonly string[] = [], env: NodeJS.ProcessEnv = process.env): ComposeProject {
  if (files.length > 0) return plainComposeProject(start, files, env);
  const dev = findDevcontainerProject(start, env);
  if (dev) return dev;
  const plain = PLAIN_COMPOSE_CANDIDATES.map((f) => join(resolve(start), f)).find((f) => existsSync(f));
  if (plain) return plainComposeProject(start, [plain], env);
  throw new SandcatError('E_NO_PROJECT', `no .devcontainer/devcontainer.json in ${resolve(start)} or above, and no ${PLAIN_COMPOSE_CANDIDATES.slice(0, 2).join(' or ')} here`, {
    hint: 'run "sandcat init" in the project first (or cd into it); for the Docker quick start run this from the sandcat checkout, or pass the compose file: -f docker/compose.yml (or SANDCAT_COMPOSE_FILES=docker/compose.yml)',
  });
}

function findDevcontainerProject(start: string, env: NodeJS.ProcessEnv): ComposeProject | null {
  let dir = resolve(start);
  for (;;) {
    for (const file of devcontainerCandidates(dir)) {
      if (!existsSync(file)) continue;
      const dc = readDevcontainer(file);
      const files = composeFilesOf(dc);
      if (files.length === 0) {
        throw new SandcatError('E_NO_COMPOSE_FILES', `${file} has no "dockerComposeFile", so sandcat is not set up here`, { hint: 'run "sandcat init --existing" to add sandcat to this devcontainer' });
      }
      for (const f of files) if (!existsSync(f)) throw new SandcatError('E_NO_COMPOSE_FILES', `${file} lists ${f}, which does not exist`, { hint: 'fix "dockerComposeFile" or run "sandcat init --force"' });
      const str = (k: string) => (typeof dc.data[k] === 'string' ? (dc.data[k] as string) : undefined);
      const own = devcontainerProjectName(dir, files[0]!);
      return {
        root: dir,
        devcontainer: dc,
        files,
        service: str('service') ?? 'agent',
        user: str('remoteUser') ?? str('containerUser'),
        workspaceFolder: str('workspaceFolder'),
        ...projectNameOf(own, 'devcontainer', env),
        passName: true,
        settingsRoot: dir,
      };
    }
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/**
 * Full argv for compose on this project, always on project.projectName (COMPOSE_PROJECT_NAME was
 * already taken into account by findProject): devcontainers pass it with -p; for plain files compose
 * arrives at the same name itself (COMPOSE_PROJECT_NAME, else the first file's directory).
 */
export function composeArgv(tool: ComposeTool, project: ComposeProject, args: readonly string[]): string[] {
  const name = project.passName ? ['-p', project.projectName] : [];
  return [...tool.argv, ...name, ...project.files.flatMap((f) => ['-f', f]), ...args];
}

/** Run compose with the terminal attached; resolves with its exit status. */
export function runCompose(tool: ComposeTool, project: ComposeProject, args: readonly string[], stdio: StdioOptions = 'inherit'): Promise<number> {
  const argv = composeArgv(tool, project, args);
  return new Promise((resolvePromise, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio, cwd: project.root });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolvePromise(code ?? (signal ? 128 : 1)));
  });
}

/**
 * Run compose with its output shown as it comes (stdin stays the terminal's), also keeping the last
 * `keep` characters of it, to say afterwards what went wrong.
 */
export function teeCompose(tool: ComposeTool, project: ComposeProject, args: readonly string[], keep = 64 * 1024): Promise<{ code: number; tail: string }> {
  const argv = composeArgv(tool, project, args);
  return new Promise((resolvePromise, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['inherit', 'pipe', 'pipe'], cwd: project.root });
    let tail = '';
    const take = (to: NodeJS.WritableStream) => (d: string) => {
      to.write(d);
      tail = (tail + d).slice(-keep);
    };
    child.stdout.setEncoding('utf8').on('data', take(process.stdout));
    child.stderr.setEncoding('utf8').on('data', take(process.stderr));
    child.on('error', reject);
    child.on('close', (code, signal) => resolvePromise({ code: code ?? (signal ? 128 : 1), tail }));
  });
}

/** Run compose and collect its output (for status and one-shot queries). */
export function captureCompose(tool: ComposeTool, project: ComposeProject, args: readonly string[], timeoutMs = 30_000): Promise<{ code: number; stdout: string; stderr: string }> {
  const argv = composeArgv(tool, project, args);
  return new Promise((resolvePromise, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], cwd: project.root, timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code: code ?? 1, stdout, stderr }));
  });
}
