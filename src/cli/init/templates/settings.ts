import { AGENT_INFO, BASE_USER_HOSTS, BASE_USER_SECRETS, IDE_HOSTS, STACK_INFO } from '../catalog.js';
import type { InitChoices } from '../options.js';
import { readableJson } from '../readable-json.js';

/**
 * The catch-all rule sandcat's original project template enabled. We write it disabled: it lets the
 * agent read any web page (a prompt-injection path) and, since DNS has no method, resolve any name.
 * Flipping "enabled" to true restores the original behaviour.
 */
export const LIBERAL_GET_RULE = { action: 'allow', host: '*', method: 'GET', enabled: false } as const;

function unique(items: string[]): string[] {
  return [...new Set(items)];
}

/** `.sandcat/settings.json`: the project's package registries and IDE hosts; committed with the project. */
export function projectSettings(choices: InitChoices): string {
  const hosts = unique([...choices.stacks.flatMap((s) => STACK_INFO[s].hosts), ...IDE_HOSTS[choices.ide]]);
  const network: object[] = hosts.map((host) => ({ action: 'allow', host }));
  network.push(LIBERAL_GET_RULE);
  return readableJson({ network });
}

export interface GitIdentity {
  name: string;
  email: string;
}

/**
 * `~/.config/sandcat/settings.json`, written once: GitHub and the agent's API allowed, each secret
 * an empty value (or an op:// reference) to fill in, and the git identity the agent commits with.
 */
export function userSettings(choices: InitChoices, git: GitIdentity): string {
  const agent = AGENT_INFO[choices.agent];
  const op = choices.features.includes('1password');
  const secrets: Record<string, object> = {};
  for (const s of [...BASE_USER_SECRETS, ...agent.secrets]) secrets[s.name] = op ? { op: s.opRef, hosts: s.hosts } : { value: '', hosts: s.hosts };
  const network = unique([...BASE_USER_HOSTS, ...agent.hosts]).map((host) => ({ action: 'allow', host }));
  const out: Record<string, unknown> = { env: { GIT_USER_NAME: git.name, GIT_USER_EMAIL: git.email }, secrets, network };
  if (op) out.op_service_account_token = '';
  return readableJson(out);
}
