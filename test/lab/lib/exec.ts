/** Running commands in (and spawning long-lived processes into) network namespaces, for the lab. */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** Exit status; 124 when the timeout killed it. */
  code: number;
}

export interface ExecOptions {
  input?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/** Run `cmd args` (inside `ns` unless ns is null). Never throws on a non-zero exit: tests assert on it. */
export function execIn(ns: string | null, cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const [file, argv] = ns ? ['ip', ['netns', 'exec', ns, cmd, ...args]] : [cmd, [...args]];
  return new Promise((resolve) => {
    const child = execFile(file, argv, { timeout: opts.timeoutMs ?? 30_000, maxBuffer: 64 * 1024 * 1024, env: opts.env ?? process.env, encoding: 'utf8' }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string; killed?: boolean }) | null;
      const code = !e ? 0 : e.killed ? 124 : typeof e.code === 'number' ? e.code : 127;
      resolve({ stdout, stderr: stderr || (e && typeof e.code !== 'number' ? e.message : ''), code });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Like execIn but throws with the command's stderr on failure (for setup steps that must work). */
export async function mustExec(ns: string | null, cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<string> {
  const r = await execIn(ns, cmd, args, opts);
  if (r.code !== 0) throw new Error(`${ns ? `[${ns}] ` : ''}${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}

const SETPRIV = existsSync('/usr/bin/setpriv') ? '/usr/bin/setpriv' : null;

/**
 * Spawn a long-lived process inside `ns`. With setpriv available it gets a parent-death signal,
 * so it dies with the test process even if the test never reaches its cleanup.
 */
export function spawnIn(ns: string, cmd: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; deathSignal?: string; stdin?: 'pipe' | 'ignore' } = {}): ChildProcess {
  const inner = SETPRIV ? [SETPRIV, '--pdeathsig', opts.deathSignal ?? 'TERM', '--', cmd, ...args] : [cmd, ...args];
  return spawn('ip', ['netns', 'exec', ns, ...inner], { stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'], env: opts.env ?? process.env });
}

/** Wait for a child to exit; SIGKILL it after `graceMs`. Resolves with its exit code (or signal). */
export function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<number | string> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  if (child.signalCode !== null) return Promise.resolve(child.signalCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      resolve(code ?? sig ?? -1);
    });
    child.kill(signal);
  });
}

/** Line-split a stream, calling `onLine` per complete line. */
export function onLines(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): void {
  if (!stream) return;
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop() ?? '';
    for (const p of parts) onLine(p);
  });
  stream.on('end', () => rest && onLine(rest));
}

/** Line-split a stream of JSON lines (a lab server's events), calling `onValue` per line that parses; others are skipped. */
export function onJsonLines<T>(stream: NodeJS.ReadableStream | null, onValue: (value: T) => void): void {
  onLines(stream, (line) => {
    let value: T;
    try {
      value = JSON.parse(line) as T;
    } catch {
      return; // not an event
    }
    onValue(value);
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Poll `check` until it returns a truthy value or `timeoutMs` passes (then throws `what`). */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 15_000, everyMs = 50): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Every running process with its argv, read from /proc (one that exits while being read is skipped). */
export function* runningProcesses(): Generator<{ pid: number; argv: string[] }> {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    yield { pid: Number(entry), argv };
  }
}
