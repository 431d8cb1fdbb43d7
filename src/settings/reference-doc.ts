import { z } from 'zod';
import { ruleSchema, secretSchema, settingsFileSchema } from './schema.js';

/**
 * The key reference of docs/settings.md, rendered from the zod schema's `.describe()` texts, so
 * the schema stays the single source of truth. scripts/gen-settings-doc.mjs writes it between
 * the markers below; test/unit/settings/reference-doc.test.ts fails when the file is stale.
 */
export const REFERENCE_BEGIN = '<!-- BEGIN GENERATED: settings key reference (scripts/gen-settings-doc.mjs) -->';
export const REFERENCE_END = '<!-- END GENERATED: settings key reference -->';

interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema | boolean;
  required?: string[];
  description?: string;
  minimum?: number;
  maximum?: number;
  anyOf?: JsonSchema[];
}

function jsonSchemaOf(schema: z.ZodType): JsonSchema {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
}

function plural(type: string): string {
  return /^(string|number|integer|boolean|object)$/.test(type) ? `${type}s` : type;
}

function typeOf(s: JsonSchema): string {
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (s.anyOf) return s.anyOf.map(typeOf).join(' | ');
  const t = Array.isArray(s.type) ? s.type.join(' | ') : s.type;
  if (t === 'array') {
    if (!s.items || s.items.type === undefined) return 'list';
    return s.items.properties ? 'list of objects (below)' : `list of ${plural(typeOf(s.items))}`;
  }
  if (t === 'integer' && s.minimum !== undefined && s.maximum !== undefined) return `integer ${s.minimum}–${s.maximum}`;
  if (t === 'object' && s.additionalProperties && typeof s.additionalProperties === 'object') {
    const v = s.additionalProperties;
    return v.properties ? 'object of NAME → object (below)' : `object of NAME → ${typeOf(v)}`;
  }
  return t ?? 'any';
}

function cell(text: string | undefined): string {
  return (text ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function table(schema: JsonSchema, keyPrefix: string, showRequired: boolean): string {
  const required = new Set(schema.required ?? []);
  const rows = Object.entries(schema.properties ?? {}).map(([key, s]) => {
    const cols = [`\`${keyPrefix}${key}\``, cell(typeOf(s))];
    if (showRequired) cols.push(required.has(key) ? 'yes' : 'no');
    cols.push(cell(s.description));
    return `| ${cols.join(' | ')} |`;
  });
  const head = showRequired ? '| key | type | required | meaning |\n|---|---|---|---|' : '| key | type | meaning |\n|---|---|---|';
  return `${head}\n${rows.join('\n')}`;
}

export function renderSettingsReference(): string {
  const root = jsonSchemaOf(settingsFileSchema);
  const secret = jsonSchemaOf(secretSchema);
  const rule = jsonSchemaOf(ruleSchema);
  return [
    REFERENCE_BEGIN,
    '',
    '### Top-level keys',
    '',
    'Every key is optional. Keys not listed here are ignored with a warning.',
    '',
    table(root, '', false),
    '',
    '### A secret: `secrets.<NAME>`',
    '',
    '`<NAME>` is the environment variable the agent sees (letters, digits and `_`, not starting with a digit). Give exactly one of `value`, `op` and `pass`.',
    '',
    table(secret, '', false),
    '',
    '### A rule: `network[]`',
    '',
    table(rule, '', true),
    '',
    REFERENCE_END,
  ].join('\n');
}

/** Replace the generated section of a document (or append it if the markers are missing). */
export function spliceReference(doc: string, reference: string = renderSettingsReference()): string {
  const begin = doc.indexOf(REFERENCE_BEGIN);
  const end = doc.indexOf(REFERENCE_END);
  if (begin === -1 || end === -1 || end < begin) return `${doc.trimEnd()}\n\n${reference}\n`;
  return doc.slice(0, begin) + reference + doc.slice(end + REFERENCE_END.length);
}
