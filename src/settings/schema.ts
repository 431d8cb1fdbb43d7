import { z } from 'zod';

/**
 * The settings file format: sandcat's keys plus documented, optional extensions.
 * This is the single source of truth for types, defaults and error messages (and docs/settings.md).
 */

export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const envName = z.string().regex(ENV_NAME, 'must be a shell variable name: letters, digits and _, not starting with a digit');

/** sandcat accepted loose spellings of "off" for `enabled`. */
const DISABLED_SPELLINGS = new Set(['false', '0', 'no', 'off']);
export function isEnabled(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0;
  return !DISABLED_SPELLINGS.has(String(value).trim().toLowerCase());
}

export const ruleSchema = z.looseObject({
  action: z.enum(['allow', 'deny'], { error: 'must be "allow" or "deny"' }).describe('What to do when the rule matches.'),
  host: z.string().min(1, 'must be a non-empty host glob').describe('fnmatch glob on the host name, case-insensitive; `*` crosses dots.'),
  method: z.string().regex(/^[A-Za-z]+$/, 'must be an HTTP method such as GET').optional().describe('HTTP method; omitted matches any. Ignored for DNS and raw TCP.'),
  enabled: z.union([z.boolean(), z.string(), z.number()]).optional().describe('false, "false", 0, "no" or "off" skip the rule.'),
  port: z.number().int().min(1).max(65535).optional().describe('Extension: destination port; omitted matches any.'),
  intercept: z.boolean().optional().describe('Extension: false relays TLS untouched after an SNI check (for pinned clients). Secrets are never substituted there.'),
});

export const secretSchema = z
  .looseObject({
    value: z.string().optional().describe('The secret itself.'),
    op: z.string().optional().describe('A 1Password reference, op://vault/item/field, read with the `op` CLI.'),
    pass: z.string().optional().describe('A Proton Pass reference, pass://…, read with `pass-cli`.'),
    hosts: z.array(z.string().min(1)).default([]).describe('Host globs the real value may be sent to.'),
    placeholder: z
      .string()
      .min(8, 'must be at least 8 characters so it cannot occur by accident')
      .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces')
      .optional()
      .describe('Extension: a custom placeholder (default SANDCAT_PLACEHOLDER_<NAME>), for tools that check a token shape.'),
  })
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
  env: z.record(envName, z.string({ error: 'env values must be strings' })).optional().describe('Variables exported to the agent through sandcat.env.'),
  secrets: z.record(envName, secretSchema).optional().describe('Secrets the agent sees only as placeholders.'),
  network: z.array(ruleSchema).optional().describe('Ordered allow/deny rules; first match wins; default deny.'),
  dns_servers: z.array(z.string()).optional().describe('Upstream DNS servers (IP literals) the proxy resolves through.'),
  extra_hosts: z.record(z.string().min(1), z.string()).optional().describe('Names the proxy DNS answers itself: {"name": "ip"}.'),
  op_service_account_token: z.string().optional().describe('1Password service-account token for `op`.'),
  proton_pass_token: z.string().optional().describe('Proton Pass personal access token for `pass-cli`.'),
  upstream_ca: z.string().optional().describe('Extension: PEM file of extra CAs trusted for upstream TLS (relative to this file).'),
});

export type RuleInput = z.infer<typeof ruleSchema>;
export type SecretInput = z.infer<typeof secretSchema>;
export type SettingsFile = z.infer<typeof settingsFileSchema>;

export const KNOWN_KEYS = {
  root: Object.keys(settingsFileSchema.shape),
  rule: Object.keys(ruleSchema.shape),
  secret: ['value', 'op', 'pass', 'hosts', 'placeholder'],
};
