import { describe, expect, it } from 'vitest';
import { describeSettingsChange, mergeLayers } from '../../../src/settings/index.js';

const settings = (user: unknown) => mergeLayers([{ layer: 'user', file: '/u.json', text: JSON.stringify(user) }]);
const none = mergeLayers([{ layer: 'user', file: '/u.json', text: null }]);

describe('describeSettingsChange', () => {
  const before = settings({
    env: { A: '1' },
    secrets: { KEEP: { value: 'keep-value-111', hosts: ['a'] }, EDIT: { value: 'old-value-222', hosts: ['a'] }, GONE: { value: 'gone-value-333', hosts: ['a'] } },
    network: [{ action: 'allow', host: 'a.example' }],
  });
  const after = settings({
    env: { A: '2', B: 'x' },
    secrets: { KEEP: { value: 'keep-value-111', hosts: ['a'] }, EDIT: { value: 'new-value-444', hosts: ['a'] }, NEW: { value: 'new-secret-555', hosts: ['b'] } },
    network: [{ action: 'allow', host: 'a.example' }, { action: 'deny', host: 'b.example' }],
    dns_servers: ['1.1.1.1'],
  });

  it('gives rule counts and secret names, with what was added, removed and changed', () => {
    const c = describeSettingsChange(before, after);
    expect(c.summary).toBe('rules 1 → 2; secrets added NEW, removed GONE, changed EDIT; env changed A, B; dns_servers changed');
    expect(c.secrets).toEqual({ names: ['EDIT', 'KEEP', 'NEW'], added: ['NEW'], removed: ['GONE'], changed: ['EDIT'] });
    expect(c.any).toBe(true);
  });

  it('never mentions a value', () => {
    const text = JSON.stringify(describeSettingsChange(before, after));
    for (const v of ['keep-value-111', 'old-value-222', 'gone-value-333', 'new-value-444', 'new-secret-555']) expect(text).not.toContain(v);
  });

  it('says when nothing changed', () => {
    const c = describeSettingsChange(before, settings(JSON.parse(JSON.stringify({
      env: { A: '1' },
      secrets: { KEEP: { value: 'keep-value-111', hosts: ['a'] }, EDIT: { value: 'old-value-222', hosts: ['a'] }, GONE: { value: 'gone-value-333', hosts: ['a'] } },
      network: [{ action: 'allow', host: 'a.example' }],
    }))));
    expect(c.any).toBe(false);
    expect(c.summary).toBe('nothing changed');
  });

  it('names a secret only when it changed (value or hosts), and leaves out unchanged rules', () => {
    const base = { secrets: { GITHUB_TOKEN: { value: 'ghp-111', hosts: ['github.com'] }, NPM_TOKEN: { value: 'npm-222', hosts: ['registry.npmjs.org'] } }, network: [{ action: 'allow', host: 'a' }] };
    expect(describeSettingsChange(settings(base), settings(base)).summary).toBe('nothing changed');
    const hosts = describeSettingsChange(settings(base), settings({ ...base, secrets: { ...base.secrets, NPM_TOKEN: { value: 'npm-222', hosts: ['npm.example'] } } }));
    expect(hosts.summary).toBe('secrets changed NPM_TOKEN');
    const env = describeSettingsChange(settings(base), settings({ ...base, env: { X: '1' } }));
    expect(env.summary).toBe('env changed X');
    expect(env.summary).not.toContain('GITHUB_TOKEN');
  });

  it('notices a rule edited in place (same count)', () => {
    const c = describeSettingsChange(settings({ network: [{ action: 'allow', host: 'a' }] }), settings({ network: [{ action: 'deny', host: 'a' }] }));
    expect(c.rules).toEqual({ before: 1, after: 1, changed: true });
    expect(c.summary).toBe('rules 1 → 1 (edited)');
  });

  it('says when the last settings file went away', () => {
    expect(describeSettingsChange(settings({}), none).summary).toContain('no settings file left: everything is denied');
  });
});
