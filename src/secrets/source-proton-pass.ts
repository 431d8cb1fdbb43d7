import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLookup, stripFinalNewline, type LookupResult } from './lookup-command.js';

/**
 * Proton Pass, through its `pass-cli`:
 *   PROTON_PASS_PERSONAL_ACCESS_TOKEN=<pat> pass-cli login      (once, into a private session dir)
 *   pass-cli item view <pass://vault/item/field>                 (per secret; prints the field)
 *
 * Only a personal access token is accepted. A PAT is scoped to chosen vaults or items and expires;
 * a full account session (web or password login) opens every vault, which the proxy must not
 * hold. PATs are recognisable: `pass-cli pat create` prints them as `pst_<id>::<key>`. Anything
 * else is refused. The login happens in a fresh PROTON_PASS_SESSION_DIR, with every other
 * credential variable removed, so an account session already on the machine is never used.
 * All of pass-cli's command line lives in this file.
 */
export const PASS_COMMAND = 'pass-cli';
export const passLoginArgs = (): string[] => ['login'];
export const passViewArgs = (ref: string): string[] => ['item', 'view', ref];
export const passLogoutArgs = (): string[] => ['logout'];

const PAT_SHAPE = /^pst_[A-Za-z0-9_-]+::\S+$/;
export function isPersonalAccessToken(token: string): boolean {
  return PAT_SHAPE.test(token);
}

export function protonToken(env: NodeJS.ProcessEnv, fromSettings: string | null): string | null {
  const fromEnv = env.PROTON_PASS_PERSONAL_ACCESS_TOKEN?.trim();
  return fromEnv ? fromEnv : fromSettings;
}

/** Variables that would let pass-cli log in some other way than with the PAT. */
const OTHER_CREDENTIALS = /^PROTON_PASS_(PASSWORD|PASSWORD_FILE|TOTP|TOTP_FILE|EXTRA_PASSWORD|EXTRA_PASSWORD_FILE|SESSION_DIR)$/;

export type ProtonSession = { ok: true; read(ref: string): Promise<LookupResult>; close(): Promise<void> } | { ok: false; cause: string };

export async function openProtonPass(o: { env: NodeJS.ProcessEnv; token: string | null; timeoutMs: number }): Promise<ProtonSession> {
  if (!o.token) return { ok: false, cause: 'no Proton Pass personal access token: set proton_pass_token or PROTON_PASS_PERSONAL_ACCESS_TOKEN' };
  if (!isPersonalAccessToken(o.token)) {
    return { ok: false, cause: 'the Proton Pass token is not a personal access token (pst_…::…, from `pass-cli pat create`); sandcat refuses account sessions, which open every vault' };
  }
  const dir = await mkdtemp(join(tmpdir(), 'sandcat-pass-'));
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(o.env)) if (!OTHER_CREDENTIALS.test(k)) env[k] = v;
  Object.assign(env, { PROTON_PASS_SESSION_DIR: dir, PROTON_PASS_PERSONAL_ACCESS_TOKEN: o.token });
  env.PROTON_PASS_AGENT_REASON ??= 'sandcat proxy: secret substitution';
  const redact = [o.token, ...o.token.split('::')];
  const close = () => rm(dir, { recursive: true, force: true });
  const login = await runLookup(PASS_COMMAND, passLoginArgs(), { env, timeoutMs: o.timeoutMs, redact });
  if (!login.ok) {
    await close();
    return { ok: false, cause: `login with the personal access token failed: ${login.cause}` };
  }
  return {
    ok: true,
    async read(ref) {
      const r = await runLookup(PASS_COMMAND, passViewArgs(ref), { env, timeoutMs: o.timeoutMs, redact });
      return r.ok ? { ok: true, stdout: stripFinalNewline(r.stdout) } : r;
    },
    async close() {
      await runLookup(PASS_COMMAND, passLogoutArgs(), { env, timeoutMs: Math.min(o.timeoutMs, 5000), redact });
      await close();
    },
  };
}
