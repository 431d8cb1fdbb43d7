import { spawn } from 'node:child_process';

/** The most a lookup may print; a secret is a few KiB at most. */
const MAX_STDOUT = 1024 * 1024;

export type LookupResult = { ok: true; stdout: string } | { ok: false; cause: string };

export interface LookupOptions {
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** Strings to cut out of the cause (tokens): stderr of a failing tool might echo them. */
  redact?: readonly string[];
}

/** The first meaningful line of a tool's stderr, short, with known secrets cut out. */
export function summarizeStderr(stderr: string, redact: readonly string[] = []): string {
  let line = stderr.split(/\r?\n/).map((l) => l.trim()).find((l) => l !== '') ?? '';
  for (const r of redact) if (r.length >= 4) line = line.split(r).join('[redacted]');
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

/**
 * Run a secret-manager CLI and capture stdout. Never throws: a missing binary, a non-zero exit or a
 * hang becomes `{ok: false, cause}`. A hanging tool is killed with its whole process group (the
 * `op` CLI may leave helpers holding stdout open). stdout is never part of a cause.
 */
export function runLookup(command: string, args: readonly string[], options: LookupOptions): Promise<LookupResult> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (r: LookupResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(command, args, { env: options.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    } catch (err) {
      return resolve({ ok: false, cause: `could not start ${command}: ${(err as Error).message}` });
    }
    const out: Buffer[] = [];
    let outSize = 0;
    let err = '';
    const kill = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const timer = setTimeout(() => {
      kill();
      finish({ ok: false, cause: `${command} did not answer within ${Math.round(options.timeoutMs / 100) / 10} s; killed` });
    }, options.timeoutMs);
    child.stdout!.on('data', (c: Buffer) => {
      outSize += c.length;
      if (outSize > MAX_STDOUT) {
        kill();
        finish({ ok: false, cause: `${command} printed more than ${MAX_STDOUT} bytes` });
      } else out.push(c);
    });
    child.stderr!.on('data', (c: Buffer) => {
      if (err.length < 16_384) err += c.toString('utf8');
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      finish({ ok: false, cause: e.code === 'ENOENT' ? `${command} is not installed (not found on PATH)` : `could not run ${command}: ${e.message}` });
    });
    child.on('close', (code, signal) => {
      if (code === 0) return finish({ ok: true, stdout: Buffer.concat(out).toString('utf8') });
      const why = summarizeStderr(err, options.redact);
      const status = signal ? `was killed by ${signal}` : `exited with status ${code}`;
      finish({ ok: false, cause: `${command} ${status}${why ? `: ${why}` : ''}` });
    });
  });
}

/** CLIs end their output with a newline that is not part of the secret. */
export function stripFinalNewline(s: string): string {
  return s.endsWith('\r\n') ? s.slice(0, -2) : s.endsWith('\n') ? s.slice(0, -1) : s;
}
