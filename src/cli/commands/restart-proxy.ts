import { formatError } from '../../errors.js';
import { flagHelp, parseFlags } from '../args.js';
import { captureCompose, COMPOSE_FILE_FLAG, detectComposeTool, findProject } from '../compose-files.js';

const flags = { file: COMPOSE_FILE_FLAG };

export const help = `usage: sandcat restart-proxy [-f <compose file>]…

Apply settings changes. The daemon already reloads when a settings file changes; this asks it to
reload now by sending SIGHUP (compose kill -s SIGHUP proxy). The tunnel and open connections stay
up. A settings file with an error is not applied: the daemon keeps the previous rules and logs why
(see "sandcat proxy" or "sandcat status"). The name is kept from sandcat, where a restart was needed.

options:
${flagHelp(flags)}
`;

export async function run(args: string[]): Promise<number> {
  try {
    const { values, positionals } = parseFlags(flags, args);
    if (positionals.length > 0) throw new Error(`unexpected argument "${positionals[0]}"`);
    const project = findProject(process.cwd(), values.file);
    const tool = detectComposeTool();
    const ps = await captureCompose(tool, project, ['ps', '-q', 'proxy']);
    if (ps.code !== 0 || ps.stdout.trim() === '') {
      process.stderr.write('sandcat restart-proxy: the proxy is not running; "sandcat run" starts it (it reads the settings at start)\n');
      return 1;
    }
    const r = await captureCompose(tool, project, ['kill', '-s', 'SIGHUP', 'proxy']);
    if (r.code !== 0) {
      process.stderr.write(`sandcat restart-proxy: compose kill failed:\n${r.stderr}`);
      return 1;
    }
    process.stdout.write('Asked the proxy to reload its settings. "sandcat status" shows the rules it loaded.\n');
    return 0;
  } catch (err) {
    process.stderr.write(`sandcat restart-proxy: ${formatError(err)}\n`);
    return 1;
  }
}
