/**
 * Finding (or starting) a Docker engine for the container tests, and running commands without a
 * shell. The tests skip, saying why, when no engine can be had: not root, SANDCAT_SKIP_DOCKER=1,
 * or scripts/docker-ci-setup.sh failing (its log is kept).
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

export const REPO = resolve(import.meta.dirname, '../..');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: readonly string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {}): Promise<RunResult> {
  return new Promise((done) => {
    const child = execFile(
      cmd,
      args as string[],
      { timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024, env: opts.env ?? process.env, cwd: opts.cwd ?? REPO },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as NodeJS.ErrnoException & { code?: unknown }).code === 'number' ? ((err as unknown as { code: number }).code) : 124) : 0;
        done({ code, stdout: stdout.toString(), stderr: stderr.toString() });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

function ok(cmd: string, args: string[]): boolean {
  return spawnSync(cmd, args, { stdio: 'ignore', timeout: 20_000 }).status === 0;
}

export interface DockerEnv {
  ok: boolean;
  reason: string;
  compose: string[];
}

/** The compose command: docker-compose v1 if present (the only one on this CI), else `docker compose`. */
function composeCommand(): string[] | null {
  if (ok('docker-compose', ['version'])) return ['docker-compose'];
  if (ok('docker', ['compose', 'version'])) return ['docker', 'compose'];
  return null;
}

export function prepareDocker(): DockerEnv {
  const no = (reason: string): DockerEnv => ({ ok: false, reason, compose: [] });
  if (process.env.SANDCAT_SKIP_DOCKER === '1') return no('SANDCAT_SKIP_DOCKER=1');
  if (!ok('docker', ['info'])) {
    if (process.getuid?.() !== 0) return no('no Docker engine reachable and not root, so none can be started');
    const script = resolve(REPO, 'scripts/docker-ci-setup.sh');
    if (!existsSync(script)) return no('no Docker engine and no scripts/docker-ci-setup.sh');
    const r = spawnSync(script, { encoding: 'utf8', timeout: 900_000 });
    if (r.status !== 0) return no(`scripts/docker-ci-setup.sh failed: ${(r.stderr || r.stdout || String(r.error)).trim().split('\n').slice(-5).join(' | ')}`);
  } else if (!ok('docker', ['image', 'inspect', 'local/node:20']) && process.getuid?.() === 0) {
    // An engine is running but the local base images are missing: the setup script builds them.
    const r = spawnSync(resolve(REPO, 'scripts/docker-ci-setup.sh'), { encoding: 'utf8', timeout: 900_000 });
    if (r.status !== 0) return no(`scripts/docker-ci-setup.sh could not build the local base images: ${(r.stderr || '').trim().split('\n').slice(-3).join(' | ')}`);
  }
  if (!ok('docker', ['image', 'inspect', 'local/node:20'])) return no('the local/node:20 base image is missing (scripts/docker-ci-setup.sh builds it)');
  const compose = composeCommand();
  if (!compose) return no('neither docker-compose nor the docker compose plugin is installed');
  if (!existsSync('/dev/net/tun')) return no('/dev/net/tun is missing on this host (wireguard-go needs it)');
  return { ok: true, reason: '', compose };
}
