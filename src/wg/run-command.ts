import { execFile } from 'node:child_process';
import { SandcatError } from '../errors.js';

export interface RunResult {
  stdout: string;
  stderr: string;
}

/**
 * Run a system tool (ip, wg, nft) without a shell and return its output. A non-zero exit throws a
 * SandcatError carrying the command line and the tool's own stderr, which is what a person needs
 * to see ("Error: Unknown device type.", "Operation not permitted"...).
 */
export function runCommand(cmd: string, args: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args as string[], { timeout: opts.timeoutMs ?? 15_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        const detail = (stderr || err.message).toString().trim();
        reject(new SandcatError('E_COMMAND_FAILED', `${cmd} ${args.join(' ')}: ${detail}`, { cause: err }));
      } else resolve({ stdout: stdout.toString(), stderr: stderr.toString() });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Like runCommand but reports failure as `false` instead of throwing (for probes and teardown). */
export async function tryCommand(cmd: string, args: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<boolean> {
  try {
    await runCommand(cmd, args, opts);
    return true;
  } catch {
    return false;
  }
}
