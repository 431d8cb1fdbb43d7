import { findNodeAtLocation, parseTree, type JSONPath } from 'jsonc-parser';
import type { DevcontainerConfig } from '../compose-files.js';
import { DANGEROUS_CAPS, type Conflict, type KeyOrigin } from './existing-compose.js';

/**
 * What a devcontainer.json asks of Docker that would undo the sandbox, for `--existing`: `runArgs`
 * flags (which compose never uses, so init must say where they go, and must never send a
 * sandbox-breaking one into compose), and `capAdd` / `privileged` / a privileged feature, which the
 * devcontainer CLI applies to compose services too.
 */

export interface RunArgsReview {
  /** Flags that must not survive the move to compose, with why. */
  dangerous: { arg: string; why: string }[];
  /** Everything else, as written, for the "move it yourself" note. */
  other: string[];
}

const CAP_WHY = "would let the agent change the tunnel's firewall and leave the sandbox";

function capName(c: string): string {
  return c.toUpperCase().replace(/^CAP_/, '');
}

/** Flags whose value may be the next element (`["--cap-add", "NET_ADMIN"]`). */
const VALUE_FLAGS = new Set(['--cap-add', '--network', '--net', '--pid', '--userns', '--ipc', '--uts']);

export function reviewRunArgs(runArgs: readonly unknown[]): RunArgsReview {
  const args = runArgs.map(String);
  const out: RunArgsReview = { dangerous: [], other: [] };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const m = /^(--[\w-]+)(?:=(.*))?$/.exec(a);
    if (!m) {
      out.other.push(a);
      continue;
    }
    const flag = m[1]!;
    let value = m[2];
    let written = a;
    if (value === undefined && VALUE_FLAGS.has(flag) && i + 1 < args.length) {
      value = args[++i]!;
      written = `${a} ${value}`;
    }
    if (flag === '--privileged' && value !== 'false') out.dangerous.push({ arg: written, why: 'a privileged agent can undo the kill switch' });
    else if (flag === '--cap-add' && value !== undefined && DANGEROUS_CAPS.includes(capName(value))) out.dangerous.push({ arg: written, why: `${capName(value)} ${CAP_WHY}` });
    else if ((flag === '--network' || flag === '--net') && value !== undefined) out.dangerous.push({ arg: written, why: "the agent must share wg-client's network; another network bypasses the tunnel" });
    else if (['--pid', '--userns', '--ipc', '--uts'].includes(flag) && value === 'host') out.dangerous.push({ arg: written, why: "the host's namespace lets the agent reach the host around the tunnel" });
    else out.other.push(written);
  }
  return out;
}

/** Where each runArgs flag goes in a compose service, for the ones present. Never a dangerous one. */
export function runArgsHints(other: readonly string[]): string[] {
  const has = (re: RegExp) => other.some((a) => re.test(a));
  const hints: string[] = [];
  if (has(/^(-e|--env)\b/)) hints.push('--env → environment');
  if (has(/^(-v|--volume|--mount)\b/)) hints.push('--volume → volumes');
  if (has(/^--cap-add\b/)) hints.push('--cap-add → cap_add');
  if (has(/^--add-host\b/)) hints.push('--add-host → sandcat\'s "extra_hosts" setting');
  if (has(/^(-p|--publish)\b/)) hints.push('--publish → "forwardPorts" in devcontainer.json');
  return hints;
}

/** The line of a key in devcontainer.json, for messages. */
export function devcontainerOrigin(dc: DevcontainerConfig, path: JSONPath): KeyOrigin {
  const tree = parseTree(dc.text, [], { allowTrailingComma: true });
  const node = tree && findNodeAtLocation(tree, path);
  const offset = node?.parent?.offset ?? node?.offset ?? 0;
  return { file: dc.file, line: dc.text.slice(0, offset).split('\n').length };
}

/**
 * devcontainer.json keys that give the agent what it must not have. `withRunArgs`: only when the
 * devcontainer is image-based (compose-based ones ignore runArgs, and init does not move them).
 */
export function devcontainerConflicts(dc: DevcontainerConfig, withRunArgs: boolean): Conflict[] {
  const out: Conflict[] = [];
  const d = dc.data;
  if (withRunArgs && Array.isArray(d.runArgs)) {
    for (const bad of reviewRunArgs(d.runArgs).dangerous) {
      out.push({ key: 'runArgs', origin: devcontainerOrigin(dc, ['runArgs']), why: `${bad.arg}: ${bad.why}`, fix: `delete "${bad.arg}" from runArgs; compose does not use runArgs, and it must not be added to the agent's compose service`, inDevcontainer: true });
    }
  }
  if (Array.isArray(d.capAdd)) {
    const bad = d.capAdd.map((c) => capName(String(c))).filter((c) => DANGEROUS_CAPS.includes(c));
    if (bad.length) out.push({ key: 'capAdd', origin: devcontainerOrigin(dc, ['capAdd']), why: `${bad.join(', ')} ${CAP_WHY}`, fix: `remove ${bad.join(', ')} from "capAdd" in devcontainer.json`, inDevcontainer: true });
  }
  if (d.privileged === true) out.push({ key: 'privileged', origin: devcontainerOrigin(dc, ['privileged']), why: 'a privileged agent can undo the kill switch', fix: 'remove "privileged": true from devcontainer.json', inDevcontainer: true });
  const features = d.features && typeof d.features === 'object' ? Object.keys(d.features) : [];
  for (const f of features.filter((id) => /docker-in-docker/.test(id))) {
    out.push({ key: 'features', origin: devcontainerOrigin(dc, ['features', f]), why: `${f} runs the container privileged, which can undo the kill switch`, fix: `remove the "${f}" feature: Docker inside the sandbox needs a privileged container`, inDevcontainer: true });
  }
  return out;
}
