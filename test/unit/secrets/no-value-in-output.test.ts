import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import {
  SecretVault,
  requestBodyPlan,
  responseBodyPlan,
  substituteRequestHead,
  substituteUrl,
  substituteHeaderValue,
} from '../../../src/secrets/index.js';
import { resolveSecrets } from '../../../src/secrets/resolve.js';
import { describeSettingsChange, mergeLayers } from '../../../src/settings/index.js';
import { compilePolicy } from '../../../src/policy/index.js';
import { formatError } from '../../../src/errors.js';
import { evaluateHttp } from '../../../src/cli/commands/check.js';
import { run } from './helpers.js';

/**
 * One sweep over every message, warning, error and result the settings and secrets code can
 * produce for a configuration holding a distinctive value; none may contain that value.
 */
const VALUE = 'zz-REAL-SECRET-VALUE-7f3a9c';
const B64 = Buffer.from(`u:${VALUE}`).toString('base64');
const P = 'SANDCAT_PLACEHOLDER_TOKEN';

function layers(user: unknown, local?: unknown) {
  return [
    { layer: 'user' as const, file: '/u.json', text: typeof user === 'string' ? user : JSON.stringify(user) },
    { layer: 'local' as const, file: '/l.json', text: local === undefined ? null : typeof local === 'string' ? local : JSON.stringify(local) },
  ];
}

describe('no secret value in any output', () => {
  it('settings errors and warnings', () => {
    const texts: string[] = [];
    const attempts: unknown[] = [
      `{"secrets": {"TOKEN": {"value": "${VALUE}", "hosts": []}},}`,
      `{"secrets": {"TOKEN": {"value": "${VALUE}" "hosts": []}}}`,
      `{"secrets": {"TOKEN": {"value": "${VALUE}\n", "hosts": []}}}`,
      { secrets: { TOKEN: { value: VALUE, op: VALUE, hosts: [] } } },
      { secrets: { TOKEN: { value: VALUE, placeholder: VALUE.slice(0, 3) } } },
      { secrets: { TOKEN: { value: VALUE, hosts: VALUE } } },
      { secrets: { TOKEN: { value: [VALUE], hosts: [] } } },
      { secrets: { TOKEN: { op: VALUE, hosts: [] } } },
      { secrets: { A: { value: VALUE, hosts: [], placeholder: 'SAME_PLACEHOLDER' }, B: { value: VALUE, hosts: [], placeholder: 'SAME_PLACEHOLDER' } } },
      { op_service_account_token: [VALUE] },
      { secrets: { TOKEN: { value: `op://${VALUE}`, hosts: [] } } },
      { proton_pass_token: { v: VALUE } },
      { env: { TOKEN: { v: VALUE } } },
    ];
    for (const a of attempts) {
      try {
        const s = mergeLayers(layers(a));
        texts.push(...s.warnings);
      } catch (err) {
        texts.push(formatError(err));
      }
    }
    const ok = mergeLayers(layers({ secrets: { TOKEN: { value: VALUE, hosts: ['*github.com', 'https://x/'] } }, env: { TOKEN: 'x' }, op_service_account_token: VALUE }));
    texts.push(...ok.warnings, ...compilePolicy(ok.rules).warnings);
    const other = mergeLayers(layers({ secrets: { TOKEN: { value: `${VALUE}-2`, hosts: [] } } }));
    texts.push(JSON.stringify(describeSettingsChange(ok, other)));
    expect(texts.length).toBeGreaterThan(attempts.length);
    for (const t of texts) expect(t).not.toContain(VALUE);
  });

  it('substitution results that block, and stream errors', async () => {
    const v = new SecretVault([{ name: 'TOKEN', placeholder: P, value: VALUE, hosts: ['good.example'] }]);
    const texts: string[] = [];
    for (const tls of [true, false]) {
      const r = substituteRequestHead(v, { url: `/?t=${P}`, rawHeaders: ['Authorization', `Basic ${Buffer.from(`u:${P}`).toString('base64')}`], host: ['good.example', 'evil.example'], tls });
      texts.push(JSON.stringify(r));
      const plan = requestBodyPlan(v, { host: 'evil.example', tls });
      if (plan.ok) texts.push(String((await run(plan.transforms, [Buffer.from(P)])).error?.message));
    }
    texts.push(JSON.stringify(substituteUrl(v, `/${P}`, 'evil.example')), JSON.stringify(substituteHeaderValue(v, 'x', P, 'evil.example')));
    texts.push(JSON.stringify(requestBodyPlan(v, { contentEncoding: 'zstd', host: 'good.example', tls: true })));
    texts.push(JSON.stringify(responseBodyPlan(v, { contentEncoding: 'zstd' })));
    for (const t of texts) {
      expect(t).not.toContain(VALUE);
      expect(t).not.toContain(B64);
    }
    expect(texts.join('\n')).toContain('TOKEN'); // the name is there, so the messages are real
  });

  it('resolution logs, including failed lookups whose tool echoes the token', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'trace' }, new Writable({ write: (c, _e, done) => (lines.push(c.toString()), done()) }));
    const s = mergeLayers(layers({ op_service_account_token: VALUE, proton_pass_token: VALUE, secrets: { A: { op: 'op://v/fail/x', hosts: [] }, B: { pass: 'pass://v/i/f', hosts: [] }, C: { value: VALUE, hosts: [] } } }));
    const bin = new URL('../../fixtures/bin', import.meta.url).pathname;
    await resolveSecrets(s, { logger, env: { PATH: `${bin}:/usr/bin:/bin` } });
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(l).not.toContain(VALUE);
  });

  it('sandcat check results', () => {
    const s = mergeLayers(layers({ secrets: { TOKEN: { value: VALUE, hosts: ['good.example'] } }, network: [{ action: 'allow', host: '*' }] }));
    for (const url of [`https://good.example/?t=${P}`, `https://evil.example/?t=${P}`, `http://good.example/${P}`]) {
      expect(JSON.stringify(evaluateHttp(s, { method: 'POST', url, headers: ['X', P], body: P }))).not.toContain(VALUE);
    }
  });
});
