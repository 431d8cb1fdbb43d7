import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { formatError, SandcatError } from '../../errors.js';
import { flagHelp, parseFlags, type FlagSpec } from '../args.js';
import { buildFailureHint, builtServiceInfo } from '../build-failure.js';
import { captureCompose, COMPOSE_FILE_FLAG, describeProjectName, detectComposeTool, findProject, runCompose, teeCompose, type ComposeProject, type ComposeTool } from '../compose-files.js';
import { readService } from '../init/existing-compose.js';
import { homeDir, userSettingsFile } from '../init/context.js';

const flags = {
  build: { type: 'boolean', env: 'SANDCAT_BUILD', help: 'rebuild the images first (after editing Dockerfile.app, or to update sandcat)' },
  shell: { type: 'string', env: 'SANDCAT_SHELL', default: 'bash', help: 'the shell to open in the agent container' },
  detach: { type: 'boolean', short: 'd', help: 'only start the containers; do not open a shell' },
  file: COMPOSE_FILE_FLAG,
} satisfies Record<string, FlagSpec>;

export const help = `usage: sandcat run [--build] [--shell <program>] [-d|--detach] [-f <compose file>]…

Start the sandbox (proxy, wg-client, agent) with the project's compose files and open a login
shell in the agent container as its user. The containers keep running after you leave the shell;
"sandcat compose down" stops them. The first start builds the sandcat image from your sandcat
checkout (no registry serves it) and the agent image from .devcontainer/Dockerfile.app. Their base
images are pulled unless SANDCAT_BASE_IMAGE (sandcat's, Node 20 on Debian bookworm) and
SANDCAT_AGENT_BASE_IMAGE (the agent's) name images this engine already has.

options:
${flagHelp(flags)}
`;

/** The images compose builds for these services: the `image:` tag, else compose's own name for it. */
export function builtImages(config: unknown, tool: Pick<ComposeTool, 'kind'>, projectName: string): string[] {
  const services = (config as { services?: Record<string, { build?: unknown; image?: unknown }> } | null)?.services ?? {};
  const images = Object.entries(services)
    .filter(([, svc]) => svc && svc.build !== undefined)
    .map(([name, svc]) => (typeof svc.image === 'string' ? svc.image : `${projectName}${tool.kind === 'v1' ? '_' : '-'}${name}`));
  return [...new Set(images)];
}

/**
 * Built images not on this engine yet (so `up` would build them). Empty when compose cannot show
 * its configuration (then `up` builds what it needs, as before).
 */
async function missingImages(tool: ComposeTool, project: ComposeProject): Promise<string[]> {
  const r = await captureCompose(tool, project, ['config']);
  if (r.code !== 0) return [];
  let images: string[];
  try {
    images = builtImages(parseYaml(r.stdout), tool, project.projectName);
  } catch {
    return [];
  }
  const missing: string[] = [];
  for (const image of images) {
    const present = await new Promise<boolean>((done) => {
      execFile('docker', ['image', 'inspect', '--format', '{{.Id}}', image], (err) => done(!err));
    });
    if (!present) missing.push(image);
  }
  return missing;
}

/** The services of the project's compose files as compose would merge them (empty if they cannot be read). */
function serviceConfigs(project: ComposeProject): Record<string, Record<string, unknown>> {
  try {
    const names = readService(project.files, project.service).allServices;
    return Object.fromEntries(names.map((n) => [n, readService(project.files, n).config]));
  } catch {
    return {};
  }
}

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
    // Build as its own step, so a failed build is reported as one (compose's output above says
    // which step) instead of as containers that did not start.
    const missing = values.build ? [] : await missingImages(tool, project);
    if (values.build || missing.length > 0) {
      if (missing.length > 0) process.stderr.write(`sandcat run: building ${missing.join(', ')} (first start, or the tag changed)\n`);
      const built = await teeCompose(tool, project, ['build']);
      if (built.code !== 0) {
        const hint = buildFailureHint(built.tail, built.code, { services: builtServiceInfo(serviceConfigs(project)), agentService: project.service, devcontainer: project.devcontainer !== null });
        process.stderr.write(hint.map((l) => `sandcat run: ${l}\n`).join(''));
        return built.code;
      }
    }
    const up = await runCompose(tool, project, ['up', '-d']);
    if (up !== 0) {
      process.stderr.write(`sandcat run: starting the containers failed (exit ${up}); "sandcat status" and "sandcat compose logs" show why\n`);
      return up;
    }
    if (values.detach) {
      process.stdout.write(`sandcat run: started (compose project ${describeProjectName(project)}); "sandcat run" opens a shell, "sandcat status" shows its health, "sandcat compose down" stops it\n`);
      return 0;
    }
    const user = project.user ? ['-u', project.user] : [];
    const workdir = project.workspaceFolder ? ['-w', project.workspaceFolder] : [];
    const tty = process.stdin.isTTY ? [] : ['-T'];
    return await runCompose(tool, project, ['exec', ...tty, ...user, ...workdir, project.service, values.shell!, '-l']);
  } catch (err) {
    process.stderr.write(`sandcat run: ${formatError(err)}\n`);
    return err instanceof SandcatError && err.code === 'E_USAGE' ? 2 : 1;
  }
}
