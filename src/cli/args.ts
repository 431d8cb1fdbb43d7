import { parseArgs, type ParseArgsConfig } from 'node:util';
import { SandcatError } from '../errors.js';

/**
 * A flag with an environment twin and a default. `env` names the variable (SANDCAT_*) that
 * supplies the value when the flag is absent; the flag always wins.
 */
export interface FlagSpec {
  type: 'string' | 'boolean';
  env?: string;
  default?: string | boolean;
  multiple?: boolean;
  /** For a `multiple` flag: what separates the values in its env twin (default ","). */
  envSeparator?: string;
  short?: string;
  help: string;
}

export type FlagValues<T extends Record<string, FlagSpec>> = { [K in keyof T]: T[K]['type'] extends 'boolean' ? boolean : T[K]['multiple'] extends true ? string[] : string | undefined };

export function parseFlags<T extends Record<string, FlagSpec>>(specs: T, args: string[], env: NodeJS.ProcessEnv = process.env): { values: FlagValues<T>; positionals: string[] } {
  const options: NonNullable<ParseArgsConfig['options']> = {};
  // parseArgs rejects keys present with the value undefined, so only copy what is set.
  for (const [name, spec] of Object.entries(specs)) options[name] = { type: spec.type, ...(spec.multiple ? { multiple: true } : {}), ...(spec.short ? { short: spec.short } : {}) };
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw usageError(err as Error & { code?: string });
  }
  const values: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    let v: unknown = (parsed.values as Record<string, unknown>)[name];
    if (v === undefined && spec.env && env[spec.env] !== undefined && env[spec.env] !== '') {
      const raw = env[spec.env]!;
      v = spec.type === 'boolean' ? !['0', 'false', 'no', 'off'].includes(raw.toLowerCase()) : spec.multiple ? raw.split(spec.envSeparator ?? ',').filter(Boolean) : raw;
    }
    if (v === undefined) v = spec.default ?? (spec.type === 'boolean' ? false : spec.multiple ? [] : undefined);
    values[name] = v;
  }
  return { values: values as FlagValues<T>, positionals: parsed.positionals };
}

/**
 * parseArgs' own text for an unknown option ends with an unbalanced quote ("as in '-- \"--x\"") and
 * reads as if a positional were meant; say it plainly, with the `--` escape as a hint.
 */
export function usageError(err: Error & { code?: string }): SandcatError {
  const unknown = err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? /Unknown option '([^']*)'/.exec(err.message) : null;
  if (unknown) {
    const opt = unknown[1]!;
    return new SandcatError('E_USAGE', `unknown option ${opt}`, { hint: `run with --help to see the options (to pass an argument that starts with "-", put it after "--": -- ${opt})` });
  }
  return new SandcatError('E_USAGE', err.message, { hint: 'run with --help to see the options' });
}

export function flagHelp(specs: Record<string, FlagSpec>): string {
  return Object.entries(specs)
    .map(([name, s]) => {
      const flag = `${s.short ? `-${s.short}, ` : ''}--${name}${s.type === 'string' ? ' <value>' : ''}${s.multiple ? '…' : ''}`;
      const extra = [s.env ? `env ${s.env}` : '', s.default !== undefined && s.default !== false ? `default ${String(s.default)}` : ''].filter(Boolean).join('; ');
      return `  ${flag.padEnd(30)} ${s.help}${extra ? ` (${extra})` : ''}`;
    })
    .join('\n');
}
