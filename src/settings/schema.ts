import { z } from 'zod';

/**
 * The settings file format: sandcat's keys plus documented, optional extensions.
 * This is the single source of truth for types, error messages and the key reference in
 * docs/settings.md, which scripts/gen-settings-doc.mjs renders from the `.describe()` texts below.
 * Objects are loose: unknown keys are warnings (merge.ts), not errors, for sandcat compatibility.
 */

export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const envName = z.string().regex(ENV_NAME, 'must be a shell variable name: letters, digits and _, not starting with a digit');

/** sandcat accepted loose spellings of "off" for `enabled`. The empty string is falsy in sandcat's Python too. */
export const DISABLED_SPELLINGS: ReadonlySet<string> = new Set(['false', '0', 'no', 'off', '']);
export const ENABLED_SPELLINGS: ReadonlySet<string> = new Set(['true', '1', 'yes', 'on']);

export function isEnabled(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0;
  return !DISABLED_SPELLINGS.has(String(value).trim().toLowerCase());
}

export const ruleSchema = z.looseObject(
  {
  action: z.enum(['allow', 'deny'], { error: 'must be "allow" or "deny"' }).describe('`"allow"` or `"deny"`. Required.'),
  host: z
    .string({ error: 'must be a host name or glob (a string)' })
    .min(1, 'must be a non-empty host name or glob')
    .describe(
      'Host name or fnmatch glob, matched case-insensitively against the name the agent asked for, without a trailing dot. `*` matches any run of characters including dots, `?` one character, `[abc]`/`[!abc]` a class. Required.',
    ),
  method: z
    .string({ error: 'must be an HTTP method such as "GET" (a string)' })
    .regex(/^[A-Za-z]+$/, 'must be an HTTP method such as "GET"')
    .optional()
    .describe('HTTP method, compared case-insensitively. Omitted: any method. DNS lookups and raw TCP have no method, so for them the rule matches on host alone.'),
  enabled: z
    .union([z.boolean(), z.string(), z.number(), z.null()], { error: 'must be true or false' })
    .optional()
    .describe('`false`, `"false"`, `0`, `"no"`, `"off"` or `""` skip the rule (it still counts for `index`). Omitted: enabled.'),
  port: z
    .number({ error: 'must be a port number' })
    .int('must be a whole number')
    .min(1, 'must be from 1 to 65535')
    .max(65535, 'must be from 1 to 65535')
    .optional()
    .describe('Extension. Destination TCP port the rule is limited to. Omitted: any port. DNS lookups have no port, so for them the rule matches on host alone.'),
  intercept: z
    .boolean({ error: 'must be true or false' })
    .optional()
    .describe(
      'Extension. `false` relays TLS to matching hosts untouched after the SNI check, for clients that pin certificates. Methods cannot be seen and secrets are never substituted on such connections. Default `true`.',
    ),
  },
  { error: 'must be a rule object such as {"action": "allow", "host": "example.com"}' },
);

export const secretSchema = z
  .looseObject({
    value: z.string({ error: 'must be a string' }).optional().describe('The secret value itself.'),
    op: z
      .string({ error: 'must be a 1Password reference such as "op://vault/item/field"' })
      .regex(/^op:\/\/[^/]+\/[^/]+\/.+/, 'must be a 1Password reference such as "op://vault/item/field"')
      .optional()
      .describe('A 1Password secret reference, `op://vault/item/field`, read at start and on reload with `op read`.'),
    pass: z
      .string({ error: 'must be a Proton Pass reference such as "pass://vault/item/field"' })
      .regex(/^pass:\/\/[^/]+\/[^/]+\/.+/, 'must be a Proton Pass reference such as "pass://vault/item/field"')
      .optional()
      .describe('A Proton Pass secret reference, `pass://vault/item/field`, read with `pass-cli item view` using a personal access token.'),
    hosts: z
      .array(z.string({ error: 'must be a host name or glob (a string)' }).min(1, 'must be a non-empty host name or glob'), { error: 'must be a list of host globs' })
      .default([])
      .describe('Host globs (same syntax as `network[].host`) that may receive the real value. A placeholder on its way anywhere else gets 403. Omitted or empty: blocked everywhere.'),
    placeholder: z
      .string({ error: 'must be a string' })
      .min(8, 'must be at least 8 characters so it cannot occur by accident')
      .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces')
      .optional()
      .describe('Extension. The string the agent sees instead of the value, for tools that check a token\'s shape (e.g. `"gho_sandcat0000000000000000000000000000"`). Default `SANDCAT_PLACEHOLDER_<NAME>`. At least 8 printable ASCII characters, unique across secrets.'),
  }, { error: 'must be an object such as {"value": "…", "hosts": ["…"]}' })
  .superRefine((s, ctx) => {
    const given = (['value', 'op', 'pass'] as const).filter((k) => s[k] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: given.length === 0 ? 'needs exactly one of "value", "op" or "pass"' : `has ${given.map((g) => `"${g}"`).join(' and ')}; keep exactly one`,
      });
    }
  });

export const settingsFileSchema = z.looseObject({
  env: z
    .record(envName, z.string({ error: 'must be a string (quote numbers: "1")' }), { error: 'must be an object of NAME: "value"' })
    .optional()
    .describe('Plain variables for the agent, written to `sandcat.env`. Merged per name across layers; the higher layer wins.'),
  secrets: z
    .record(envName, secretSchema, { error: 'must be an object of NAME: {…}' })
    .optional()
    .describe('Secrets, by variable name. The agent sees only the placeholder; the proxy swaps in the real value toward the secret\'s `hosts`, over TLS only. Merged per name; the higher layer wins.'),
  network: z
    .array(ruleSchema, { error: 'must be a list of rules' })
    .optional()
    .describe('Ordered allow/deny rules. Layers concatenate local, then project, then user; the first rule that matches decides; no match means deny.'),
  dns_servers: z
    .array(z.unknown(), { error: 'must be a list of IP addresses' })
    .optional()
    .describe('Upstream DNS servers for the proxy\'s own lookups, as IP literals; other entries are dropped with a warning. Taken from the highest layer that sets it. Omitted: the proxy\'s system resolver.'),
  extra_hosts: z
    .record(z.string().min(1, 'must be a non-empty host name'), z.string({ error: 'must be an IP address (a string)' }), { error: 'must be an object of "name": "ip"' })
    .optional()
    .describe('Names the proxy\'s DNS answers itself, `{"name": "ip"}` (the name still needs an allow rule). Merged per name; the higher layer wins. Non-IP values are dropped with a warning.'),
  op_service_account_token: z
    .string({ error: 'must be a string' })
    .optional()
    .describe('1Password service-account token for `op`. The `OP_SERVICE_ACCOUNT_TOKEN` environment variable takes precedence. The highest layer with a non-empty value wins.'),
  proton_pass_token: z
    .string({ error: 'must be a string' })
    .optional()
    .describe('Proton Pass personal access token (`pst_…::…`) for `pass-cli`. The `PROTON_PASS_PERSONAL_ACCESS_TOKEN` environment variable takes precedence. Other kinds of session are refused. The highest layer with a non-empty value wins.'),
  upstream_ca: z
    .string({ error: 'must be a file path (a string)' })
    .min(1, 'must be a file path')
    .optional()
    .describe('Extension. A PEM file of extra CA certificates trusted for upstream TLS, for example a corporate proxy\'s. A relative path is relative to the settings file. The highest layer that sets it wins.'),
});

export type RuleInput = z.infer<typeof ruleSchema>;
export type SecretInput = z.infer<typeof secretSchema>;
export type SettingsFile = z.infer<typeof settingsFileSchema>;

export const KNOWN_KEYS = {
  root: Object.keys(settingsFileSchema.shape),
  rule: Object.keys(ruleSchema.shape),
  secret: Object.keys(secretSchema.shape),
};
