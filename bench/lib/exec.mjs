// Small process helpers: run a command (throwing with its stderr), run inside a namespace,
// and spawn long-lived children that are tracked so teardown can stop every one of them.
import { spawn, spawnSync } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';

/** Runs a command to completion; throws with its stderr unless `allowFail`. Returns stdout. */
export function sh(cmd, args, { input, allowFail = false, env } = {}) {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8', env: env ?? process.env, maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  if (r.status !== 0 && !allowFail) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${(r.stderr || r.stdout || '').trim()}`);
  }
  return r.stdout;
}

/** The argv prefix that runs a command inside namespace `ns`, pinned to `cpus` when given. */
export function inNs(ns, cpus) {
  const prefix = ['ip', 'netns', 'exec', ns];
  return cpus !== undefined ? [...prefix, 'taskset', '-c', String(cpus)] : prefix;
}

export function nsSh(ns, cmd, args, opts) {
  return sh('ip', ['netns', 'exec', ns, cmd, ...args], opts);
}

const children = new Set();

/** The hard open-files limit; raising it needs CAP_SYS_RESOURCE, which a container may lack. */
export const HARD_NOFILE = (() => {
  const v = spawnSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim();
  return v === 'unlimited' ? 1 << 20 : Number(v) || 1024;
})();

/**
 * Spawns a long-lived child (through `sh -c` so the fd limit can be raised first). Its stderr is
 * kept (last 64 KiB) for error messages. Tracked until it exits so `stopAll` can end it.
 */
export function spawnTracked(name, argv, { nofile = 65536, env, logFile } = {}) {
  nofile = Math.min(nofile, HARD_NOFILE);
  const quoted = argv.map((a) => `'${String(a).replaceAll("'", "'\\''")}'`).join(' ');
  // A chatty child (the daemon logs a line per request) writes to a file, not to a pipe we read.
  const logFd = logFile ? openSync(logFile, 'a') : undefined;
  const child = spawn('sh', ['-c', `ulimit -n ${nofile} && exec ${quoted}`], { stdio: ['ignore', 'pipe', logFd ?? 'pipe'], env: env ?? process.env });
  if (logFd !== undefined) closeSync(logFd);
  child.benchName = name;
  child.stderrTail = '';
  child.stderr?.on('data', (d) => {
    child.stderrTail = (child.stderrTail + d.toString()).slice(-65536);
  });
  if (logFile) {
    Object.defineProperty(child, 'stderrTail', {
      get: () => {
        try {
          return readFileSync(logFile, 'utf8').slice(-65536);
        } catch {
          return '';
        }
      },
    });
  }
  children.add(child);
  child.exited = new Promise((resolve) => child.on('exit', (code, signal) => {
    children.delete(child);
    resolve({ code, signal });
  }));
  return child;
}

/** Stops one tracked child: SIGTERM, then SIGKILL after `graceMs`. */
export async function stop(child, graceMs = 3000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await child.exited;
  clearTimeout(timer);
}

export async function stopAll() {
  await Promise.all([...children].map((c) => stop(c)));
}

/**
 * Runs a short-lived child to completion and parses the JSON it prints last on stdout.
 * Used for the load generators, which run inside the agent namespace.
 */
export function runJson(argv, { nofile = 65536, timeoutMs = 600_000, env, onLine } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawnTracked(argv.join(' '), argv, { nofile, env });
    let out = '';
    let seen = 0;
    child.stdout.on('data', (d) => {
      out += d;
      if (!onLine) return;
      for (let nl = out.indexOf('\n', seen); nl >= 0; nl = out.indexOf('\n', seen)) {
        onLine(out.slice(seen, nl));
        seen = nl + 1;
      }
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.exited.then(({ code, signal }) => {
      clearTimeout(timer);
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0) return reject(new Error(`${argv.join(' ')} failed (${code ?? signal}): ${child.stderrTail.trim().slice(-2000)}`));
      try {
        resolve(JSON.parse(last));
      } catch {
        reject(new Error(`${argv.join(' ')} printed no JSON: ${out.slice(-2000)} ${child.stderrTail.slice(-2000)}`));
      }
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns truthy or `timeoutMs` passes. */
export async function waitFor(what, probe, timeoutMs = 20_000, everyMs = 100) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}
