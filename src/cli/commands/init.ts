import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SandcatError, formatError } from '../../errors.js';
import { flagHelp, parseFlags, type FlagSpec } from '../args.js';
import { AGENTS, DEFAULTS, FEATURES, IDES, STACKS } from '../init/catalog.js';
import { hostContext, userSettingsFile, type InitContext } from '../init/context.js';
import { runExisting } from '../init/existing.js';
import { parseAgent, parseFeatures, parseIde, parseStacks, type InitChoices } from '../init/options.js';
import { DEVCONTAINER_DIR, displayPath, planInit } from '../init/plan.js';
import { askChoices, type PromptIo } from '../init/prompt.js';
import { missingAgentHosts, outcomeLines } from '../init/report.js';
import { writePlan } from '../init/write-plan.js';

export const flags = {
  agent: { type: 'string', env: 'SANDCAT_AGENT', help: `agent CLI to install: ${AGENTS.join(', ')}` },
  ide: { type: 'string', env: 'SANDCAT_IDE', help: `IDE to configure: ${IDES.join(', ')}` },
  stacks: { type: 'string', env: 'SANDCAT_STACKS', help: `comma list: ${STACKS.join(', ')} (scala brings java)` },
  features: { type: 'string', env: 'SANDCAT_FEATURES', help: `comma list: ${FEATURES.join(', ')}` },
  force: { type: 'boolean', env: 'SANDCAT_FORCE', help: 'overwrite generated files that already exist (never the user settings)' },
  existing: { type: 'boolean', env: 'SANDCAT_EXISTING', help: 'add sandcat to the devcontainer this project already has' },
  dir: { type: 'string', env: 'SANDCAT_DIR', help: 'project directory (default: the current directory)' },
  yes: { type: 'boolean', short: 'y', env: 'SANDCAT_YES', help: 'do not ask; take defaults for anything not given' },
} satisfies Record<string, FlagSpec>;

export const help = `usage: sandcat init [options]
       sandcat init --existing [--dir <project>]

Generate .devcontainer/ (agent Dockerfile, compose files, devcontainer.json with IDE hardening)
and .sandcat/settings.json for a project, and on first run ~/.config/sandcat/settings.json.
On a terminal it asks for whatever the flags do not say; without one it uses the defaults
(agent ${DEFAULTS.agent}, ide ${DEFAULTS.ide}, no stacks, no features). Existing files are kept unless --force.

With --existing it adds sandcat to a project that already has a devcontainer: an extra compose
file and an edit to devcontainer.json; your Dockerfile and compose files are not touched.

options:
${flagHelp(flags)}

examples:
  sandcat init --agent claude --ide vscode --stacks "python,node"
  sandcat init --features 1password --agent claude --ide vscode
  sandcat init --existing
`;

export interface InitIo extends PromptIo {
  interactive: boolean;
  log(line: string): void;
}

function defaultIo(): InitIo {
  return {
    input: process.stdin,
    output: process.stdout,
    interactive: process.stdin.isTTY === true && process.stdout.isTTY === true,
    log: (line) => process.stdout.write(line + '\n'),
  };
}

export async function run(args: string[]): Promise<number> {
  try {
    return await runInit(args, defaultIo(), process.env);
  } catch (err) {
    process.stderr.write(`sandcat init: ${formatError(err)}\n`);
    return err instanceof SandcatError && err.code === 'E_USAGE' ? 2 : 1;
  }
}

/** Given flags (and env twins), everything the user did not choose is undefined. */
export function choicesFromFlags(values: { agent?: string; ide?: string; stacks?: string; features?: string }): Partial<InitChoices> {
  const out: Partial<InitChoices> = {};
  if (values.agent !== undefined) out.agent = parseAgent(values.agent);
  if (values.ide !== undefined) out.ide = parseIde(values.ide);
  if (values.stacks !== undefined) out.stacks = parseStacks(values.stacks);
  if (values.features !== undefined) out.features = parseFeatures(values.features);
  return out;
}

export async function runInit(args: string[], io: InitIo, env: NodeJS.ProcessEnv, makeContext: (dir: string) => InitContext = (d) => hostContext(d, env)): Promise<number> {
  const { values, positionals } = parseFlags(flags, args, env);
  if (positionals.length > 0) throw new SandcatError('E_USAGE', `unexpected argument "${positionals[0]}"`, { hint: 'give the project directory with --dir' });
  const projectDir = resolve(values.dir ?? process.cwd());
  if (!existsSync(projectDir) || !statSync(projectDir).isDirectory()) {
    throw new SandcatError('E_USAGE', `project directory ${projectDir} does not exist`, { hint: 'create it first, or pass --dir <existing directory>' });
  }
  const ctx = makeContext(projectDir);
  if (values.existing) return runExisting(ctx, io, { force: values.force, choices: choicesFromFlags(values) });

  const given = choicesFromFlags(values);
  const missing = (['agent', 'ide', 'stacks', 'features'] as const).filter((k) => given[k] === undefined);
  let answers: Partial<InitChoices> = {};
  if (missing.length > 0 && io.interactive && !values.yes) {
    answers = await askChoices(io, given);
  } else if (missing.length === 4) {
    io.log(`No terminal to ask on and no flags given: using the defaults (agent ${DEFAULTS.agent}, ide ${DEFAULTS.ide}, no stacks, no features).`);
    io.log('Choose with --agent, --ide, --stacks and --features (or SANDCAT_AGENT, SANDCAT_IDE, SANDCAT_STACKS, SANDCAT_FEATURES).');
  }
  const choices: InitChoices = { ...DEFAULTS, ...given, ...answers } as InitChoices;

  const devcontainerJson = join(projectDir, DEVCONTAINER_DIR, 'devcontainer.json');
  const hadDevcontainer = existsSync(devcontainerJson);
  const userFile = userSettingsFile(ctx.home);
  const hadUserSettings = existsSync(userFile);

  io.log(`sandcat init: agent ${choices.agent}, ide ${choices.ide}, stacks ${choices.stacks.join(',') || 'none'}, features ${choices.features.join(',') || 'none'}`);
  const outcomes = writePlan(planInit(choices, ctx), values.force);
  for (const line of outcomeLines(outcomes, (p) => displayPath(p, ctx))) io.log(line);

  const skipped = outcomes.filter((o) => o.result === 'skipped' && o.file.policy !== 'create-only');
  if (skipped.length > 0 && hadDevcontainer) {
    io.log('');
    io.log('This project already has a devcontainer. To add sandcat to it without rewriting it, run: sandcat init --existing');
    io.log('To replace the files listed as skipped with generated ones, run again with --force.');
  }
  io.log('');
  if (!hadUserSettings) {
    io.log(`Fill in your secrets and git identity: sandcat edit user-settings  (${displayPath(userFile, ctx)})`);
    io.log('  Empty secret values are placeholders to fill; delete a secret you do not use (for Claude Code,');
    io.log('  deleting ANTHROPIC_API_KEY means logging in with your subscription instead).');
  } else {
    const missingHosts = missingAgentHosts(choices.agent, userFile);
    if (missingHosts.length > 0) {
      io.log(`Your user settings do not allow ${missingHosts.join(', ')} (needed by ${choices.agent}): add rules with sandcat edit user-settings`);
    }
  }
  io.log('Project rules are in .sandcat/settings.json: the stacks\' package registries and your IDE\'s hosts.');
  io.log('  The original sandcat default "allow GET to any host" is there but disabled ("enabled": false):');
  io.log('  it lets the agent read any web page (a prompt-injection path). Enable it only if you accept that.');
  io.log('Next: sandcat run   (or open the folder in your IDE and reopen it in the container)');
  return 0;
}
