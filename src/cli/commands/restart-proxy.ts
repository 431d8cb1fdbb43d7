import { execFile } from 'node:child_process';
import { formatError } from '../../errors.js';
import { flagHelp, parseFlags } from '../args.js';
import { captureCompose, COMPOSE_FILE_FLAG, describeProjectName, detectComposeTool, findProject } from '../compose-files.js';

const flags = { file: COMPOSE_FILE_FLAG };

export const help = `usage: sandcat restart-proxy [-f <compose file>]…

Apply settings changes. The daemon already reloads when a settings file changes; this asks it to
reload now by sending SIGHUP (compose kill -s SIGHUP proxy). The tunnel and open connections stay
up. A settings file with an error is not applied: the daemon keeps the previous rules and logs why
(see "sandcat proxy" or "sandcat status"). The name is kept from sandcat, where a restart was needed.

options:
${flagHelp(flags)}
`;

/** "name (id)" of a container, or its short id when docker cannot say. */
function containerName(id: string): Promise<string> {
  const short = id.slice(0, 12);
  return new Promise((done) => {
    execFile('docker', ['inspect', '--format', '{{.Name}}', id], { timeout: 10_000 }, (err, stdout) => {
      const n = String(stdout ?? '').trim().replace(/^\//, '');
      done(!err && n ? `${n}, ${short}` : short);
    });
  });
}

export async function run(args: string[]): Promise<number> {
  try {
    const { values, positionals } = parseFlags(flags, args);
    if (positionals.length > 0) throw new Error(`unexpected argument "${positionals[0]}"`);
    const project = findProject(process.cwd(), values.file);
    const tool = detectComposeTool();
    const name = describeProjectName(project);
    const ps = await captureCompose(tool, project, ['ps', '-q', 'proxy']);
    const id = ps.stdout.trim().split('\n')[0] ?? '';
    if (ps.code !== 0 || id === '') {
      process.stderr.write(`sandcat restart-proxy: the proxy of compose project ${name} is not running; "sandcat run" starts it (it reads the settings at start)\n`);
      return 1;
    }
    const r = await captureCompose(tool, project, ['kill', '-s', 'SIGHUP', 'proxy']);
    if (r.code !== 0) {
      process.stderr.write(`sandcat restart-proxy: compose kill failed (compose project ${name}):\n${r.stderr}`);
      return 1;
    }
    const container = await containerName(id);
    process.stdout.write(`Sent SIGHUP to the proxy (container ${container}, compose project ${name}): it reloads its settings. "sandcat status" shows the rules it loaded.\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`sandcat restart-proxy: ${formatError(err)}\n`);
    return 1;
  }
}
