import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GitIdentity } from './templates/settings.js';

/**
 * Facts about the machine `sandcat init` runs on. Gathered in one place so templates stay pure and
 * golden tests can pass fixed values.
 */
export interface InitContext {
  projectDir: string;
  /** Directory name, used for the workspace path and the compose project name. */
  projectName: string;
  version: string;
  /** The sandcat checkout: holds docker/Dockerfile and docker/agent/. */
  installDir: string;
  home: string;
  git: GitIdentity;
  /** Whether a host path exists (optional bind mounts are written commented out when it does not). */
  exists(path: string): boolean;
}

/** The checkout this code runs from: dist/cli/init/context.js or src/cli/init/context.ts → three levels up. */
export function installDir(): string {
  return fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');
}

export function sandcatVersion(dir = installDir()): string {
  try {
    return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** $HOME wins over the passwd entry, so tests and the dockerised CLI can point it elsewhere. */
export function homeDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.HOME || homedir();
}

function gitConfig(key: string): string {
  try {
    return execFileSync('git', ['config', '--global', '--get', key], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

export function hostContext(projectDir: string, env: NodeJS.ProcessEnv = process.env): InitContext {
  const dir = installDir();
  return {
    projectDir,
    projectName: basename(projectDir),
    version: sandcatVersion(dir),
    installDir: dir,
    home: homeDir(env),
    git: { name: gitConfig('user.name'), email: gitConfig('user.email') },
    exists: existsSync,
  };
}

export function userSettingsFile(home: string): string {
  return join(home, '.config', 'sandcat', 'settings.json');
}
