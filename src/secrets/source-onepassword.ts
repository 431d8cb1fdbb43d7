import { runLookup, stripFinalNewline, type LookupResult } from './lookup-command.js';

/**
 * 1Password: `op read <op://vault/item/field>` with a service-account token. The token comes from
 * the OP_SERVICE_ACCOUNT_TOKEN environment variable, else from `op_service_account_token` in
 * the settings (the environment wins, so a host can override a file without editing it).
 */
export const OP_COMMAND = 'op';
export const opReadArgs = (ref: string): string[] => ['read', '--no-newline', ref];

export function opToken(env: NodeJS.ProcessEnv, fromSettings: string | null): string | null {
  const fromEnv = env.OP_SERVICE_ACCOUNT_TOKEN?.trim();
  return fromEnv ? fromEnv : fromSettings;
}

export async function readOnePassword(ref: string, o: { env: NodeJS.ProcessEnv; token: string | null; timeoutMs: number }): Promise<LookupResult> {
  const env: NodeJS.ProcessEnv = { ...o.env };
  if (o.token) env.OP_SERVICE_ACCOUNT_TOKEN = o.token;
  const r = await runLookup(OP_COMMAND, opReadArgs(ref), { env, timeoutMs: o.timeoutMs, redact: o.token ? [o.token] : [] });
  if (!r.ok && !o.token) return { ok: false, cause: `${r.cause} (no 1Password service-account token: set op_service_account_token or OP_SERVICE_ACCOUNT_TOKEN)` };
  return r.ok ? { ok: true, stdout: stripFinalNewline(r.stdout) } : r;
}
