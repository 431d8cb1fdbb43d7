import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { formatError, SandcatError } from '../../errors.js';
import { layerFiles, mergeLayers, parseLayer, type RawLayer } from '../../settings/index.js';
import { findProject } from '../compose-files.js';
import { settingsWarnings } from '../settings-warnings.js';
import { homeDir, userSettingsFile } from '../init/context.js';
import { dockerfilePath, readService } from '../init/existing-compose.js';
import { AGENT_COMPOSE, AGENT_DOCKERFILE, DEVCONTAINER_DIR, SANDCAT_COMPOSE } from '../init/plan.js';

export const help = `usage: sandcat edit <what>

Open a file in $VISUAL, else $EDITOR, else vi. <what> is one of:
  project-settings   .sandcat/settings.json            project rules (committed)
  local-settings     .sandcat/settings.local.json      your overrides for this project (git-ignored)
  user-settings      ~/.config/sandcat/settings.json   secrets, git identity, your own rules
  dockerfile         .devcontainer/Dockerfile.app      the agent image (then: sandcat run --build)
  compose            .devcontainer/compose-agent.yml   the agent service (then: sandcat run)

Settings are checked with the daemon's own schema when the editor exits. On an error you see what
and where, and on a terminal you can edit again, restore the previous version or keep the file.
Without a terminal the error is reported and the exit status is 1. The daemon picks up a valid
change by itself (sandcat restart-proxy forces it).
`;

const SETTINGS_TARGETS = { 'project-settings': 'project', 'local-settings': 'local', 'user-settings': 'user' } as const;
type SettingsTarget = keyof typeof SETTINGS_TARGETS;
const TARGETS = [...Object.keys(SETTINGS_TARGETS), 'dockerfile', 'compose'];

/** The nearest directory at or above `start` with a .sandcat or .devcontainer folder, or null. */
export function projectRoot(start: string): string | null {
  let dir = resolve(start);
  for (;;) {
    if (existsSync(join(dir, '.sandcat')) || existsSync(join(dir, DEVCONTAINER_DIR))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/** The files the proxy reads: SANDCAT_USER_CONFIG is the compose files' variable for the user's directory. */
export function settingsPaths(root: string, env: NodeJS.ProcessEnv = process.env): { userFile: string; projectDir: string } {
  const configDir = env.SANDCAT_USER_CONFIG?.replace(/^~(?=\/|$)/, homeDir(env));
  return { userFile: configDir ? join(resolve(configDir), 'settings.json') : userSettingsFile(homeDir(env)), projectDir: join(root, '.sandcat') };
}

function otherFile(root: string, what: 'dockerfile' | 'compose'): string {
  const preferred = join(root, DEVCONTAINER_DIR, what === 'dockerfile' ? AGENT_DOCKERFILE : AGENT_COMPOSE);
  if (existsSync(preferred)) return preferred;
  // A devcontainer that sandcat was added to with --existing: the user's own files.
  const project = findProject(root);
  const own = project.files.filter((f) => !f.endsWith(SANDCAT_COMPOSE));
  if (what === 'compose' && own[0]) return own[0];
  if (what === 'dockerfile') {
    const df = dockerfilePath(readService(own, project.service));
    if (df) return df;
  }
  throw new SandcatError('E_NOT_FOUND', `found no ${what} for this project`, { hint: `its devcontainer.json names the files; open them directly` });
}

function openEditor(file: string, env: NodeJS.ProcessEnv): Promise<number> {
  const editor = env.VISUAL || env.EDITOR || 'vi';
  // Through sh, so "code --wait" style values work; the file name is passed as $1, never interpolated.
  return new Promise((res, rej) => {
    const child = spawn('sh', ['-c', `${editor} "$1"`, 'sandcat-edit', file], { stdio: 'inherit' });
    child.on('error', rej);
    child.on('exit', (code) => res(code ?? 1));
  });
}

/** Validate a settings layer as the daemon would: the file itself, then merged with the other layers. */
export function validateLayer(layer: RawLayer['layer'], file: string, text: string, paths: { userFile: string; projectDir: string }): string[] {
  parseLayer({ layer, file, text });
  const layers: RawLayer[] = layerFiles(paths).map((l) => ({ ...l, text: l.layer === layer ? text : existsSync(l.file) ? readFileSync(l.file, 'utf8') : null }));
  // Another layer's own error is not this edit's fault: say so, without blocking the save.
  for (const other of layers) {
    if (other.layer === layer || other.text === null) continue;
    try {
      parseLayer(other as RawLayer & { text: string });
    } catch (err) {
      return [`the ${other.layer} settings have an error too: ${formatError(err)}`];
    }
  }
  return settingsWarnings(mergeLayers(layers)); // throws for conflicts between layers (e.g. a shared placeholder)
}

async function ask(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return (await rl.question(question)).trim().toLowerCase();
  } finally {
    rl.close();
  }
}

async function editSettings(target: SettingsTarget, root: string, env: NodeJS.ProcessEnv, interactive: boolean): Promise<number> {
  const layer = SETTINGS_TARGETS[target];
  const paths = settingsPaths(root, env);
  const file = layer === 'user' ? paths.userFile : join(paths.projectDir, layer === 'local' ? 'settings.local.json' : 'settings.json');
  const before = existsSync(file) ? readFileSync(file, 'utf8') : null;
  if (before === null) {
    mkdirSync(dirname(file), { recursive: true, mode: layer === 'user' ? 0o700 : 0o755 });
    writeFileSync(file, '{\n  "network": []\n}\n', { mode: layer === 'user' ? 0o600 : 0o644 });
  }
  for (;;) {
    const code = await openEditor(file, env);
    if (code !== 0) process.stderr.write(`sandcat edit: the editor exited with status ${code}; checking the file anyway\n`);
    const text = readFileSync(file, 'utf8');
    try {
      const warnings = validateLayer(layer, file, text, paths);
      process.stdout.write(text === before ? `${file}: unchanged\n` : `${file}: valid; the proxy reloads it by itself (sandcat restart-proxy forces it)\n`);
      // After the verdict, so they are the last thing on screen: valid, but probably not what was meant.
      if (warnings.length) process.stderr.write(`sandcat edit: ${warnings.length} warning${warnings.length === 1 ? '' : 's'} (the settings apply as written):\n${warnings.map((w) => `  warning: ${w}\n`).join('')}`);
      return 0;
    } catch (err) {
      process.stderr.write(`sandcat edit: ${formatError(err)}\n`);
      if (!interactive) {
        process.stderr.write(`sandcat edit: ${file} is saved but invalid; the proxy keeps its previous rules until it is fixed\n`);
        return 1;
      }
      const answer = await ask(`[e]dit again, [r]estore the previous version, or [k]eep this broken file? [E/r/k] `);
      if (answer === 'r' || answer === 'restore') {
        if (before === null) rmSync(file, { force: true });
        else writeFileSync(file, before);
        process.stdout.write(before === null ? `${file}: removed (it did not exist before)\n` : `${file}: restored the previous version\n`);
        return 1;
      }
      if (answer === 'k' || answer === 'keep') {
        process.stderr.write(`${file}: kept with the error above; the proxy keeps its previous rules until it is fixed\n`);
        return 1;
      }
    }
  }
}

export async function run(args: string[]): Promise<number> {
  try {
    const [what, ...rest] = args;
    if (!what || !TARGETS.includes(what) || rest.length > 0) {
      throw new SandcatError('E_USAGE', what ? `cannot edit "${args.join(' ')}"` : 'say what to edit', { hint: `one of: ${TARGETS.join(', ')}` });
    }
    const found = projectRoot(process.cwd());
    if (!found && what !== 'user-settings') {
      throw new SandcatError('E_NO_PROJECT', `no .sandcat/ or .devcontainer/ in ${process.cwd()} or above`, { hint: 'cd into the project, or run "sandcat init" there first' });
    }
    const root = found ?? process.cwd();
    const interactive = process.stdin.isTTY === true && process.stdout.isTTY === true;
    if (what in SETTINGS_TARGETS) return await editSettings(what as SettingsTarget, root, process.env, interactive);
    const file = otherFile(root, what as 'dockerfile' | 'compose');
    const code = await openEditor(file, process.env);
    if (code === 0) process.stdout.write(`${file}: apply with "sandcat run${what === 'dockerfile' ? ' --build' : ''}" (or rebuild the container in your IDE)\n`);
    return code;
  } catch (err) {
    process.stderr.write(`sandcat edit: ${formatError(err)}\n`);
    return err instanceof SandcatError && err.code === 'E_USAGE' ? 2 : 1;
  }
}
