import type { z } from 'zod';
import { parse as parseJsonc, printParseErrorCode, type ParseError } from 'jsonc-parser';
import type { Layer } from '../policy/types.js';
import { globPitfall, hostPatternProblem, normalizeHost } from '../policy/glob.js';
import { SettingsError } from '../errors.js';
import { DISABLED_SPELLINGS, ENABLED_SPELLINGS, KNOWN_KEYS, settingsFileSchema, type SettingsFile } from './schema.js';

/** One layer's file as read from disk: its text, or null when the file does not exist. */
export interface RawLayer {
  layer: Layer;
  file: string;
  text: string | null;
}

/** `secrets.GITHUB_TOKEN.hosts[2]`: the JSON path as a person would write it. */
export function jsonPath(segments: readonly PropertyKey[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (typeof s === 'string' && /^[A-Za-z_$][\w$]*$/.test(s)) out += out ? `.${s}` : s;
    else out += `[${JSON.stringify(String(s))}]`;
  }
  return out || '(top level)';
}

const SYNTAX_PROBLEMS: Record<string, string> = {
  InvalidCommentToken: 'a comment (JSON has no comments)',
  PropertyNameExpected: 'expected a quoted property name (a trailing comma?)',
  ValueExpected: 'expected a value (a trailing comma?)',
  ColonExpected: 'expected ":" after the property name',
  CommaExpected: 'expected "," between entries',
  CloseBraceExpected: 'expected "}"',
  CloseBracketExpected: 'expected "]"',
  EndOfFileExpected: 'unexpected text after the end of the object',
  UnexpectedEndOfString: 'a string is not closed',
  UnexpectedEndOfComment: 'a comment is not closed',
  InvalidEscapeCharacter: 'an invalid escape in a string',
  InvalidCharacter: 'an invalid character in a string (control characters must be escaped)',
};

/**
 * Where and what the first syntax error is. V8's JSON.parse message quotes the surrounding text,
 * which may be a secret value, so only a position and a fixed phrase are reported.
 */
function describeSyntaxError(text: string): string {
  const errors: ParseError[] = [];
  parseJsonc(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const first = errors[0];
  if (!first) return 'is not valid JSON';
  const before = text.slice(0, first.offset);
  const line = before.split('\n').length;
  const column = before.length - before.lastIndexOf('\n');
  const code = printParseErrorCode(first.error);
  return `is not valid JSON: ${SYNTAX_PROBLEMS[code] ?? 'unexpected input'} at line ${line}, column ${column}`;
}

/** What to change, for the most common mistakes, keyed on where the problem is. */
function hintFor(where: string, issue: z.core.$ZodIssue): string | undefined {
  const message = issue.message;
  if (/^network\[\d+\]\.action$/.test(where)) return 'use "action": "allow" or "action": "deny"';
  if (/^network\[\d+\]\.host$/.test(where)) return 'give the host name or a glob, e.g. "host": "api.github.com" or "host": "*.github.com"';
  if (/^network\[\d+\]\.method$/.test(where)) return 'give one method such as "GET", or leave "method" out to match any; for two methods write two rules';
  if (/^network\[\d+\]\.port$/.test(where)) return 'use a number from 1 to 65535, e.g. "port": 443, or leave "port" out';
  if (/^network\[\d+\]\.enabled$/.test(where)) return 'use "enabled": false to skip the rule, or leave "enabled" out';
  if (/^network\[\d+\]\.intercept$/.test(where)) return 'use "intercept": false to relay TLS untouched, or leave it out';
  if (/^network\[\d+\]$/.test(where)) return 'each rule is an object such as {"action": "allow", "host": "example.com"}';
  if (where === 'network') return 'write "network": [{"action": "allow", "host": "example.com"}, …]';
  if (/^secrets\.[^.]+$|^secrets\[/.test(where) && message.includes('exactly one')) return 'give the secret one of "value": "…", "op": "op://vault/item/field" or "pass": "pass://vault/item/field"';
  if (/^secrets\.[A-Za-z_]\w*$/.test(where)) return 'write "NAME": {"value": "…", "hosts": ["host.example"]}';
  if (/\.op$/.test(where)) return 'copy the reference from 1Password ("Copy Secret Reference"): op://vault/item/field';
  if (/\.pass$/.test(where)) return 'write the reference as pass://vault/item/field';
  if (/\.hosts(\[\d+\])?$/.test(where)) return 'list the hosts that may receive the value, e.g. "hosts": ["api.github.com", "*.github.com"]';
  if (/\.placeholder$/.test(where)) return 'use at least 8 printable characters without spaces, or leave "placeholder" out for SANDCAT_PLACEHOLDER_<NAME>';
  if (issue.code === 'invalid_key' && (where.startsWith('env') || where.startsWith('secrets'))) return 'names must be shell variable names, e.g. GITHUB_TOKEN';
  if (where.startsWith('env')) return 'write "env": {"NAME": "value"} with string values';
  if (where === 'secrets') return 'write "secrets": {"NAME": {"value": "…", "hosts": ["…"]}}';
  if (where === 'dns_servers') return 'write "dns_servers": ["1.1.1.1", "2606:4700:4700::1111"]';
  if (where.startsWith('extra_hosts')) return 'write "extra_hosts": {"db.internal": "10.0.0.5"}';
  if (where === 'upstream_ca') return 'give the path of a PEM file, absolute or relative to this settings file';
  if (where.endsWith('_token')) return 'give the token as a string, or leave the key out';
  return undefined;
}

/** The path zod reports for a bad record key points at the record; add the key so the message names it. */
function issuePath(issue: z.core.$ZodIssue): PropertyKey[] {
  const path = [...issue.path];
  if (issue.code === 'invalid_key' && 'origin' in issue) {
    const key = (issue as { input?: unknown }).input;
    if (typeof key === 'string' && path[path.length - 1] !== key) path.push(key);
  }
  return path;
}

/** A bad record key: the key's own problem, not the record's. */
function keyProblem(issue: z.core.$ZodIssue): string {
  const inner = (issue as { issues?: { message: string }[] }).issues?.[0]?.message;
  return `this name ${inner ?? 'is not allowed'}`;
}

function lintLayer(file: SettingsFile, where: string): string[] {
  const warnings: string[] = [];
  const warnUnknown = (obj: Record<string, unknown>, known: readonly string[], prefix: string) => {
    for (const key of Object.keys(obj)) {
      if (!known.includes(key)) warnings.push(`${where}: unknown key ${prefix ? `${prefix}.` : ''}${key} is ignored`);
    }
  };
  warnUnknown(file, KNOWN_KEYS.root, '');
  file.network?.forEach((r, i) => {
    warnUnknown(r, KNOWN_KEYS.rule, `network[${i}]`);
    if (typeof r.enabled === 'string') {
      const spelled = r.enabled.trim().toLowerCase();
      if (!DISABLED_SPELLINGS.has(spelled) && !ENABLED_SPELLINGS.has(spelled)) {
        warnings.push(`${where}: network[${i}].enabled is "${r.enabled}", which is not a known spelling of true or false; the rule stays enabled. Use true or false`);
      }
    } else if (r.enabled === null) {
      warnings.push(`${where}: network[${i}].enabled is null; the rule stays enabled. Use true or false`);
    }
  });
  for (const [name, s] of Object.entries(file.secrets ?? {})) {
    warnUnknown(s, KNOWN_KEYS.secret, `secrets.${name}`);
    if (s.value !== undefined && /^(op|pass):\/\//.test(s.value.trim())) {
      const key = s.value.trim().startsWith('op://') ? 'op' : 'pass';
      // Not quoted: whatever is in "value" is treated as a secret, even when it looks like a reference.
      warnings.push(`${where}: secrets.${name}.value starts with ${key}://, so it looks like a ${key === 'op' ? '1Password' : 'Proton Pass'} reference, but it is used literally as the secret. Did you mean to write it under "${key}" instead of "value"?`);
    }
    if (s.hosts.length === 0) warnings.push(`${where}: secrets.${name} has no "hosts", so its placeholder is blocked everywhere`);
    s.hosts.forEach((h, i) => {
      const problem = hostPatternProblem(h) ?? (normalizeHost(h) === '*' ? `"*" sends the real value to every host the network rules allow` : globPitfall(normalizeHost(h)));
      if (problem) warnings.push(`${where}: secrets.${name}.hosts[${i}]: ${problem}`);
    });
  }
  return warnings;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/**
 * A required key is missing: if its object holds an unknown key spelled almost the same, name it,
 * so `"hots"` leads the user to `"host"` instead of to a puzzling "host is missing".
 */
function misspelledKey(data: unknown, path: readonly PropertyKey[]): string | null {
  const missing = path[path.length - 1];
  if (typeof missing !== 'string') return null;
  let parent: unknown = data;
  for (const segment of path.slice(0, -1)) {
    if (typeof parent !== 'object' || parent === null) return null;
    parent = (parent as Record<PropertyKey, unknown>)[segment as string];
  }
  if (typeof parent !== 'object' || parent === null || missing in parent) return null;
  const near = Object.keys(parent).find((k) => k !== missing && editDistance(k.toLowerCase(), missing) <= 2);
  return near ? `found "${near}": did you mean "${missing}"?` : null;
}

/** Parse and validate one layer. Throws SettingsError naming file, JSON path and the fix. */
export function parseLayer(raw: RawLayer & { text: string }): { file: SettingsFile; warnings: string[] } {
  const text = raw.text.replace(/^\uFEFF/, ''); // editors on Windows write a BOM; JSON.parse rejects it
  if (text.trim() === '') {
    // An empty file (e.g. `touch`) counts as present: everything is denied, as with `{}`.
    return { file: {}, warnings: [`${raw.file}: the file is empty; treated as {}`] };
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new SettingsError(raw.file, '', describeSyntaxError(text), 'fix the JSON syntax (settings files take no comments or trailing commas)');
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new SettingsError(raw.file, '(top level)', 'must be a JSON object', 'wrap the settings in { … }');
  }
  const result = settingsFileSchema.safeParse(data);
  if (!result.success) {
    const issues = result.error.issues;
    const issue = issues[0]!;
    const where = jsonPath(issuePath(issue));
    const message = issue.code === 'invalid_key' ? keyProblem(issue) : issue.message;
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''} in this file)` : '';
    const typo = misspelledKey(data, issuePath(issue));
    throw new SettingsError(raw.file, where, `${message}${typo ? ` (${typo})` : ''}${more}`, hintFor(where, issue));
  }
  return { file: result.data, warnings: lintLayer(result.data, raw.file) };
}
