import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { resolveSecrets } from '../../../src/secrets/resolve.js';
import { isPersonalAccessToken } from '../../../src/secrets/source-proton-pass.js';
import { mergeLayers, type Settings } from '../../../src/settings/index.js';

const BIN = join(import.meta.dirname, '../../fixtures/bin');
const STORE = {
  'op://Private/GitHub/token': 'ghp_from_1password_REAL',
  'op://Private/Other/credential': 'other_from_1password_REAL',
  'pass://Work/Anthropic/api_key': 'sk-ant-from-proton-REAL',
};
const OP_TOKEN = 'ops_service_account_TOKEN_SECRET';
const PAT = 'pst_abc123::KEYMATERIALSECRET';

let dir: string;
let log: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'h4-resolve-'));
  log = join(dir, 'calls.jsonl');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function settingsOf(file: unknown): Settings {
  return mergeLayers([{ layer: 'user', file: '/cfg/settings.json', text: JSON.stringify(file) }]);
}

/** A logger whose JSON lines we keep, to check what was said and that no value ever was. */
function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines, text: () => lines.join('\n') };
}

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: `${BIN}:${process.env.PATH}`, HOME: dir, FAKE_SECRETS: JSON.stringify(STORE), FAKE_LOG: log, ...extra };
}
const calls = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { tool: string; args: string[]; token: string; env: string[]; at: number }) : []);

describe('resolveSecrets', () => {
  it('plain values need no lookup', async () => {
    const c = capture();
    const out = await resolveSecrets(settingsOf({ secrets: { A: { value: 'plain-value', hosts: ['a.example'] } } }), { logger: c.logger, env: env() });
    expect(out).toEqual([{ name: 'A', placeholder: 'SANDCAT_PLACEHOLDER_A', value: 'plain-value', hosts: ['a.example'] }]);
    expect(calls()).toEqual([]);
  });

  it('op:// is read with `op read --no-newline <ref>`, the settings token passed in OP_SERVICE_ACCOUNT_TOKEN', async () => {
    const c = capture();
    const s = settingsOf({ op_service_account_token: OP_TOKEN, secrets: { GH: { op: 'op://Private/GitHub/token', hosts: ['github.com'] } } });
    const out = await resolveSecrets(s, { logger: c.logger, env: env({ FAKE_EXPECT_TOKEN: OP_TOKEN }) });
    expect(out[0]!.value).toBe('ghp_from_1password_REAL');
    expect(calls()).toMatchObject([{ tool: 'op', args: ['read', '--no-newline', 'op://Private/GitHub/token'], token: OP_TOKEN }]);
  });

  it('OP_SERVICE_ACCOUNT_TOKEN from the environment takes precedence over the settings token', async () => {
    const c = capture();
    const s = settingsOf({ op_service_account_token: 'ops_from_settings', secrets: { GH: { op: 'op://Private/GitHub/token', hosts: ['github.com'] } } });
    const out = await resolveSecrets(s, { logger: c.logger, env: env({ OP_SERVICE_ACCOUNT_TOKEN: OP_TOKEN, FAKE_EXPECT_TOKEN: OP_TOKEN }) });
    expect(out[0]!.value).toBe('ghp_from_1password_REAL');
    expect(calls()[0]!.token).toBe(OP_TOKEN);
  });

  it('pass:// logs in with the personal access token in a private session dir, then `pass-cli item view <ref>`', async () => {
    const c = capture();
    const s = settingsOf({ proton_pass_token: PAT, secrets: { ANT: { pass: 'pass://Work/Anthropic/api_key', hosts: ['api.anthropic.com'] } } });
    const out = await resolveSecrets(s, { logger: c.logger, env: env({ FAKE_EXPECT_TOKEN: PAT, PROTON_PASS_PASSWORD: 'account-password', PROTON_PASS_SESSION_DIR: '/home/user/.session' }) });
    expect(out[0]!.value).toBe('sk-ant-from-proton-REAL');
    const seen = calls();
    expect(seen.map((x) => x.args)).toEqual([['login'], ['item', 'view', 'pass://Work/Anthropic/api_key'], ['logout']]);
    expect(seen[0]!.token).toBe(PAT);
    expect(seen[0]!.env).not.toContain('PROTON_PASS_PASSWORD'); // no other way to log in
    expect(readdirSync(tmpdir()).filter((d) => d.startsWith('sandcat-pass-'))).toEqual([]); // session dir removed
  });

  it('PROTON_PASS_PERSONAL_ACCESS_TOKEN from the environment takes precedence', async () => {
    const c = capture();
    const s = settingsOf({ proton_pass_token: 'pst_other::X', secrets: { ANT: { pass: 'pass://Work/Anthropic/api_key', hosts: ['x'] } } });
    const out = await resolveSecrets(s, { logger: c.logger, env: env({ PROTON_PASS_PERSONAL_ACCESS_TOKEN: PAT, FAKE_EXPECT_TOKEN: PAT }) });
    expect(out[0]!.value).toBe('sk-ant-from-proton-REAL');
  });

  it.each([
    ['an account password', 'hunter2-account-password'],
    ['a bare session id', 'a1b2c3d4e5f6'],
    ['a PAT without its key', 'pst_abc123'],
  ])('refuses %s as the Proton Pass token, and never runs pass-cli', async (_label, token) => {
    expect(isPersonalAccessToken(token)).toBe(false);
    const c = capture();
    const s = settingsOf({ proton_pass_token: token, secrets: { ANT: { pass: 'pass://Work/Anthropic/api_key', hosts: ['x'] } } });
    const out = await resolveSecrets(s, { logger: c.logger, env: env() });
    expect(out[0]!.value).toBe('');
    expect(calls()).toEqual([]);
    expect(c.text()).toContain('is not a personal access token');
    expect(c.text()).not.toContain(token);
  });

  it('a failed lookup resolves to empty, warns with the secret name and cause, redacts the token, and the rest still resolve', async () => {
    const c = capture();
    const s = settingsOf({
      op_service_account_token: OP_TOKEN,
      secrets: {
        BROKEN: { op: 'op://Private/fail/x', hosts: ['x'] },
        MISSING: { op: 'op://Private/Nope/x', hosts: ['x'] },
        GOOD: { op: 'op://Private/GitHub/token', hosts: ['x'] },
      },
    });
    const out = await resolveSecrets(s, { logger: c.logger, env: env() });
    expect(Object.fromEntries(out.map((r) => [r.name, r.value]))).toEqual({ BROKEN: '', MISSING: '', GOOD: 'ghp_from_1password_REAL' });
    const warnings = c.lines.map((l) => JSON.parse(l) as { level: number; secret?: string; msg: string }).filter((l) => l.level === 40);
    expect(warnings.map((w) => w.secret).sort()).toEqual(['BROKEN', 'MISSING']);
    expect(warnings.find((w) => w.secret === 'BROKEN')!.msg).toBe('secret BROKEN: op:// lookup failed (op exited with status 1: [ERROR] could not read op://Private/fail/x with token [redacted]); it resolves to empty');
    expect(warnings.find((w) => w.secret === 'MISSING')!.msg).toContain(`"op://Private/Nope/x" isn't an item`);
    expect(c.text()).not.toContain(OP_TOKEN);
    expect(c.text()).not.toContain('ghp_from_1password_REAL');
  });

  it('a missing tool is a warning, not a crash', async () => {
    const c = capture();
    const s = settingsOf({ secrets: { GH: { op: 'op://Private/GitHub/token', hosts: ['x'] } } });
    const out = await resolveSecrets(s, { logger: c.logger, env: { PATH: '/nonexistent' } });
    expect(out[0]!.value).toBe('');
    expect(c.text()).toContain('op is not installed (not found on PATH)');
    expect(c.text()).toContain('no 1Password service-account token');
  });

  it('a hanging lookup times out (and its process group is killed); the others are not held up', async () => {
    const c = capture();
    const s = settingsOf({ op_service_account_token: OP_TOKEN, secrets: { HANG: { op: 'op://Private/hang/x', hosts: ['x'] }, GOOD: { op: 'op://Private/GitHub/token', hosts: ['x'] } } });
    const marker = `${900 + Math.floor(Math.random() * 99)}.${process.pid}`; // a unique `sleep` argument to look for
    const started = Date.now();
    const out = await resolveSecrets(s, { logger: c.logger, env: env({ FAKE_HANG_SLEEP: marker }), timeoutMs: 500 });
    const took = Date.now() - started;
    expect(Object.fromEntries(out.map((r) => [r.name, r.value]))).toEqual({ HANG: '', GOOD: 'ghp_from_1password_REAL' });
    expect(took).toBeLessThan(3000);
    expect(c.text()).toContain('secret HANG: op:// lookup failed (op did not answer within 0.5 s; killed)');
    await new Promise((r) => setTimeout(r, 200));
    const left = execFileSync('ps', ['-eo', 'args']).toString().split('\n').filter((l) => l.includes(`sleep ${marker}`));
    expect(left, 'the grandchild holding stdout was killed with the group').toEqual([]);
  });

  it('lookups run concurrently', async () => {
    const c = capture();
    const s = settingsOf({
      proton_pass_token: PAT,
      secrets: {
        A: { op: 'op://Private/GitHub/token', hosts: ['x'] },
        B: { op: 'op://Private/Other/credential', hosts: ['x'] },
        C: { pass: 'pass://Work/Anthropic/api_key', hosts: ['x'] },
      },
    });
    const out = await resolveSecrets(s, { logger: c.logger, env: env({ FAKE_DELAY_MS: '400' }) });
    expect(out.map((r) => r.value)).toEqual(['ghp_from_1password_REAL', 'other_from_1password_REAL', 'sk-ant-from-proton-REAL']);
    const reads = calls().filter((x) => x.args[0] === 'read' || x.args[1] === 'view');
    expect(reads).toHaveLength(3);
    const spread = Math.max(...reads.map((r) => r.at)) - Math.min(...reads.map((r) => r.at));
    expect(spread, 'all three reads started together, not one after another').toBeLessThan(350);
  });
});
