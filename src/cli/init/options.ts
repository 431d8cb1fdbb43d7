import { SandcatError } from '../../errors.js';
import { AGENTS, FEATURES, IDES, STACKS, STACK_INFO, type Agent, type Feature, type Ide, type Stack } from './catalog.js';

/** The choices `sandcat init` generates files from. */
export interface InitChoices {
  agent: Agent;
  ide: Ide;
  /** Sorted in catalog order, implied stacks included (scala brings java). */
  stacks: Stack[];
  features: Feature[];
}

function oneOf<T extends string>(what: string, allowed: readonly T[], raw: string): T {
  const v = raw.trim().toLowerCase();
  if ((allowed as readonly string[]).includes(v)) return v as T;
  throw new SandcatError('E_USAGE', `unknown ${what} "${raw}"`, { hint: `choose one of: ${allowed.join(', ')}` });
}

export function parseAgent(raw: string): Agent {
  return oneOf('agent', AGENTS, raw);
}

export function parseIde(raw: string): Ide {
  return oneOf('IDE', IDES, raw);
}

/** A comma (or space) separated list; "" and "none" mean an empty list. Unknown names are errors. */
function parseList<T extends string>(what: string, allowed: readonly T[], raw: string): T[] {
  const names = raw
    .split(/[\s,]+/)
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s && s !== 'none');
  const out = new Set<T>();
  for (const n of names) out.add(oneOf(what, allowed, n));
  return allowed.filter((a) => out.has(a));
}

/** Stacks in catalog order, with implied ones added (scala needs java). */
export function parseStacks(raw: string): Stack[] {
  const chosen = new Set(parseList('stack', STACKS, raw));
  for (const s of [...chosen]) for (const dep of STACK_INFO[s].implies ?? []) chosen.add(dep);
  return STACKS.filter((s) => chosen.has(s));
}

export function parseFeatures(raw: string): Feature[] {
  return parseList('feature', FEATURES, raw);
}
