import { join, relative } from 'node:path';
import type { InitContext } from './context.js';
import { userSettingsFile } from './context.js';
import type { InitChoices } from './options.js';
import { agentDockerfile } from './templates/agent-dockerfile.js';
import { CLAUDE_HOST_MOUNTS, composeAgent } from './templates/compose-agent.js';
import { sandcatServices } from './templates/compose-sandcat.js';
import { devcontainerJson } from './templates/devcontainer-json.js';
import { projectSettings, userSettings } from './templates/settings.js';

/** One file `sandcat init` wants to write. */
export interface PlannedFile {
  path: string;
  content: string;
  mode?: number;
  /**
   * replace: written when absent, or with --force.
   * create-only: written only when absent, even with --force (the user settings hold real secrets).
   * append-line: each line of content is appended unless the file already has it.
   */
  policy: 'replace' | 'create-only' | 'append-line';
}

export const DEVCONTAINER_DIR = '.devcontainer';
export const SANDCAT_COMPOSE = 'compose-sandcat.yml';
export const AGENT_COMPOSE = 'compose-agent.yml';
export const AGENT_DOCKERFILE = 'Dockerfile.app';
export const LOCAL_SETTINGS_IGNORE = '.sandcat/settings.local.json';

export function workspaceFolder(projectName: string): string {
  return `/workspaces/${projectName}`;
}

/** Everything a fresh `sandcat init` writes, in the order it is reported. Pure given the context. */
export function planInit(choices: InitChoices, ctx: InitContext): PlannedFile[] {
  const dc = join(ctx.projectDir, DEVCONTAINER_DIR);
  const ws = workspaceFolder(ctx.projectName);
  const existing = new Set(CLAUDE_HOST_MOUNTS.filter((m) => ctx.exists(join(ctx.home, m))));
  const files: PlannedFile[] = [
    { path: join(dc, AGENT_DOCKERFILE), content: agentDockerfile(choices, ctx), policy: 'replace' },
    {
      path: join(dc, SANDCAT_COMPOSE),
      content: sandcatServices({ version: ctx.version, installDir: ctx.installDir, projectSettingsDir: '../.sandcat', features: choices.features, formatVersion: '2.4' }),
      policy: 'replace',
    },
    { path: join(dc, AGENT_COMPOSE), content: composeAgent(choices, { projectName: ctx.projectName, workspaceFolder: ws, existing }), policy: 'replace' },
    {
      path: join(dc, 'devcontainer.json'),
      content: devcontainerJson(choices, { projectName: ctx.projectName, version: ctx.version, workspaceFolder: ws, composeFiles: [SANDCAT_COMPOSE, AGENT_COMPOSE] }),
      policy: 'replace',
    },
    { path: join(ctx.projectDir, '.sandcat', 'settings.json'), content: projectSettings(choices), policy: 'replace' },
    { path: join(ctx.projectDir, '.gitignore'), content: `${LOCAL_SETTINGS_IGNORE}\n`, policy: 'append-line' },
    { path: userSettingsFile(ctx.home), content: userSettings(choices, ctx.git), mode: 0o600, policy: 'create-only' },
  ];
  return files;
}
export function displayPath(path: string, ctx: Pick<InitContext, 'projectDir' | 'home'>): string {
  const rel = relative(ctx.projectDir, path);
  if (!rel.startsWith('..')) return rel;
  const fromHome = relative(ctx.home, path);
  return fromHome.startsWith('..') ? path : `~/${fromHome}`;
}
