import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { formatError } from '../../errors.js';
import { flagHelp, parseFlags, type FlagSpec } from '../args.js';
import { composeArgv, COMPOSE_FILE_FLAG, detectComposeTool, findProject, projectNameNote } from '../compose-files.js';
import { compileFilter, renderLine, wantColor, type RenderOptions } from '../proxy-log.js';

const flags = {
  denied: { type: 'boolean', env: 'SANDCAT_PROXY_DENIED', help: 'show only denied requests and lookups (and blocked secrets)' },
  host: { type: 'string', env: 'SANDCAT_PROXY_HOST', help: 'show only hosts matching this glob (fnmatch, like the rules: *.github.com)' },
  tail: { type: 'string', env: 'SANDCAT_PROXY_TAIL', default: '50', help: 'how many earlier lines to show first' },
  once: { type: 'boolean', help: 'print what is logged so far and exit instead of following' },
  stdin: { type: 'boolean', help: 'read log lines from stdin instead of the proxy container (e.g. a saved log)' },
  file: COMPOSE_FILE_FLAG,
} satisfies Record<string, FlagSpec>;

export const help = `usage: sandcat proxy [--denied] [--host <glob>] [--tail N] [--once] [--stdin] [-f <compose file>]…

Follow the proxy's decisions: every request, DNS lookup and relayed connection, one line each, with
the rule that decided it. Allowed lines are green, denied red, blocked secrets yellow (NO_COLOR=1
turns colour off). Ctrl+C stops. Runs "compose logs -f proxy" with the project's compose files:
the nearest .devcontainer/devcontainer.json's, else docker/compose.yml or compose.yml in the current
directory (the Docker quick start, from the sandcat checkout), or the ones given with -f.

options:
${flagHelp(flags)}

examples:
  sandcat proxy --denied                  # what is being blocked right now?
  sandcat proxy --host '*.github.com'
  sandcat compose logs --no-color proxy > proxy.log; sandcat proxy --stdin --denied < proxy.log
`;

async function pump(input: Readable, filter: ReturnType<typeof compileFilter>, opts: RenderOptions, out: NodeJS.WritableStream): Promise<void> {
  const rl = createInterface({ input, crlfDelay: Infinity });
  for await (const line of rl) {
    const shown = renderLine(line, filter, opts);
    if (shown !== null) out.write(shown + '\n');
  }
}

export async function run(args: string[]): Promise<number> {
  try {
    const { values } = parseFlags(flags, args);
    const tail = Number(values.tail);
    if (!Number.isInteger(tail) || tail < 0) throw new Error(`--tail must be a whole number, got "${values.tail}"`);
    const filter = compileFilter({ deniedOnly: values.denied, host: values.host });
    const opts: RenderOptions = { color: wantColor(process.stdout) };
    if (values.stdin) {
      await pump(process.stdin, filter, opts, process.stdout);
      return 0;
    }
    const project = findProject(process.cwd(), values.file);
    const tool = detectComposeTool();
    const note = projectNameNote(project);
    if (note) process.stderr.write(`sandcat proxy: ${note}\n`);
    const argv = composeArgv(tool, project, ['logs', '--no-color', `--tail=${tail}`, ...(values.once ? [] : ['-f']), 'proxy']);
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], cwd: project.root });
    // Ctrl+C reaches compose too (same process group); stop quietly once it has gone.
    process.on('SIGINT', () => undefined);
    // Leaving early (the reader of a pipe went away: EPIPE exits): do not leave `logs -f` behind.
    process.on('exit', () => child.kill());
    const done = new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => resolve(signal === 'SIGINT' ? 0 : (code ?? 1)));
    });
    await Promise.all([pump(child.stdout, filter, opts, process.stdout), pump(child.stderr, filter, opts, process.stdout)]);
    return await done;
  } catch (err) {
    process.stderr.write(`sandcat proxy: ${formatError(err)}\n`);
    return 1;
  }
}
