import { existsSync } from 'node:fs';
import { formatError, SandcatError } from '../../errors.js';
import { flagHelp, parseFlags, type FlagSpec } from '../args.js';
import { COMPOSE_FILE_FLAG, detectComposeTool, findProject, runCompose } from '../compose-files.js';
import { homeDir, userSettingsFile } from '../init/context.js';

const flags = {
  build: { type: 'boolean', env: 'SANDCAT_BUILD', help: 'rebuild the images first (after editing Dockerfile.app, or to update sandcat)' },
  shell: { type: 'string', env: 'SANDCAT_SHELL', default: 'bash', help: 'the shell to open in the agent container' },
  detach: { type: 'boolean', short: 'd', help: 'only start the containers; do not open a shell' },
  file: COMPOSE_FILE_FLAG,
} satisfies Record<string, FlagSpec>;

export const help = `usage: sandcat run [--build] [--shell <program>] [-d]

Start the sandbox (proxy, wg-client, agent) with the project's compose files and open a login
shell in the agent container as its user. The containers keep running after you leave the shell;
"sandcat compose down" stops them. The first start builds the sandcat image from your sandcat
checkout (no registry needed) and the agent image from .devcontainer/Dockerfile.app.

options:
${flagHelp(flags)}
`;

export async function run(args: string[]): Promise<number> {
  try {
    const { values, positionals } = parseFlags(flags, args);
    if (positionals.length > 0) throw new SandcatError('E_USAGE', `unexpected argument "${positionals[0]}"`, { hint: 'to run a command in the sandbox use: sandcat compose exec agent <command>' });
    const project = findProject(process.cwd(), values.file);
    const userFile = userSettingsFile(homeDir());
    if (!existsSync(userFile)) {
      process.stderr.write(`sandcat run: note: ${userFile} does not exist, so only the project's rules apply (run "sandcat init" to create it)\n`);
    }
    const tool = detectComposeTool();
    const up = await runCompose(tool, project, ['up', '-d', ...(values.build ? ['--build'] : [])]);
    if (up !== 0) {
      process.stderr.write(`sandcat run: starting the containers failed (exit ${up}); "sandcat status" and "sandcat compose logs" show why\n`);
      return up;
    }
    if (values.detach) return 0;
    const user = project.user ? ['-u', project.user] : [];
    const workdir = project.workspaceFolder ? ['-w', project.workspaceFolder] : [];
    const tty = process.stdin.isTTY ? [] : ['-T'];
    return await runCompose(tool, project, ['exec', ...tty, ...user, ...workdir, project.service, values.shell!, '-l']);
  } catch (err) {
    process.stderr.write(`sandcat run: ${formatError(err)}\n`);
    return err instanceof SandcatError && err.code === 'E_USAGE' ? 2 : 1;
  }
}
