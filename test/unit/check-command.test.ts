import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `sandcat check` as users run it: the built CLI in a subprocess, settings from fixture files,
 * one JSON object on stdout, the exit status. Never a secret value anywhere in the output.
 */
const ROOT = join(import.meta.dirname, '../..');
const FIX = join(ROOT, 'test/fixtures/settings/check');
const VALUE = 'ghp_CHECK_REAL_VALUE_must_never_print';
const GH = 'SANDCAT_PLACEHOLDER_GITHUB_TOKEN';

beforeAll(() => {
  const built = join(ROOT, 'dist/cli/commands/check.js');
  const src = join(ROOT, 'src/cli/commands/check.ts');
  if (!existsSync(built) || statSync(built).mtimeMs < statSync(src).mtimeMs) {
    // npm test builds first; this covers running the file alone. Type errors elsewhere still emit.
    spawnSync('npx', ['tsc', '-p', '.'], { cwd: ROOT, stdio: 'ignore' });
  }
}, 120_000);

function check(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/sandcat'), 'check', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { PATH: '/usr/bin:/bin', HOME: '/nonexistent-home', ...env },
  });
  expect(r.stdout + r.stderr, 'no secret value in any output').not.toContain(VALUE);
  const lines = r.stdout.trim() ? r.stdout.trim().split('\n') : [];
  expect(lines.length, `stdout is at most one line: ${r.stdout}`).toBeLessThanOrEqual(1);
  return { status: r.status, json: lines[0] ? JSON.parse(lines[0]) : null, stderr: r.stderr };
}
const withSettings = (...args: string[]) => check(['--user-settings', join(FIX, 'user.json'), '--project-dir', join(FIX, 'project'), ...args]);

describe('sandcat check --request', () => {
  it('an allowed GET: exit 0, status 200, the deciding rule with its layer and index', () => {
    const r = withSettings('--request', 'GET', 'https://example.org/');
    expect(r.status).toBe(0);
    expect(r.json).toEqual({
      kind: 'http',
      decision: 'allow',
      status: 200,
      rule: { layer: 'project', index: 1, action: 'allow', host: '*', method: 'GET' },
      substituted: [],
      leak: null,
      reason: 'GET example.org allowed by project settings network[1] (allow "*" method GET)',
    });
  });

  it('a POST a method rule denies: exit 1, 403, that rule', () => {
    const r = withSettings('--request', 'post', 'https://uploads.github.com/x');
    expect(r.status).toBe(1);
    expect(r.json).toMatchObject({ decision: 'deny', status: 403, rule: { layer: 'project', index: 0, action: 'deny', host: 'uploads.github.com', method: 'POST' }, leak: null });
  });

  it('no rule matched: rule null, default deny', () => {
    const r = withSettings('--request', 'POST', 'https://example.org/');
    expect(r.json).toMatchObject({ decision: 'deny', status: 403, rule: null, reason: 'POST example.org denied: no rule matched (default deny)' });
  });

  it('a placeholder in a header toward an allowed host over TLS is substituted', () => {
    const r = withSettings('--request', 'POST', 'https://api.github.com/graphql', '-H', `Authorization: Bearer ${GH}`);
    expect(r.status).toBe(0);
    expect(r.json).toMatchObject({ decision: 'allow', status: 200, substituted: ['GITHUB_TOKEN'], leak: null, rule: { layer: 'user', index: 0 } });
  });

  it('user:placeholder in the URL becomes Basic credentials (as curl and git send them)', () => {
    const r = withSettings('--request', 'GET', `https://x-access-token:${GH}@github.com/org/repo.git/info/refs?service=git-upload-pack`);
    expect(r.json).toMatchObject({ decision: 'allow', substituted: ['GITHUB_TOKEN'] });
  });

  it('a percent-encoded placeholder in the query string is found', () => {
    const r = withSettings('--request', 'GET', `https://api.github.com/x?t=${GH.replace(/_/g, '%5F')}`);
    expect(r.json).toMatchObject({ decision: 'allow', substituted: ['GITHUB_TOKEN'] });
  });

  it('a placeholder over plain http:// is 403 (cleartext), even toward an allowed host', () => {
    const r = withSettings('--request', 'GET', `http://api.github.com/?token=${GH}`);
    expect(r.status).toBe(1);
    expect(r.json).toMatchObject({ decision: 'deny', status: 403, leak: 'GITHUB_TOKEN', substituted: [] });
    expect(r.json.reason).toMatch(/plain-HTTP request to api\.github\.com carries the placeholder for secret GITHUB_TOKEN/);
  });

  it('a placeholder toward another allowed host is a leak: 403 naming the secret', () => {
    const r = withSettings('--request', 'GET', 'https://example.org/', '-H', `X-Token: ${GH}`);
    expect(r.json).toMatchObject({ decision: 'deny', status: 403, leak: 'GITHUB_TOKEN', rule: { layer: 'project', index: 1 } });
    expect(r.json.reason).toContain('example.org is not one of them');
  });

  it('a placeholder in the body toward another host is a leak', () => {
    const r = withSettings('--request', 'POST', 'https://api.example.com/v1', '--data', `{"t":"${GH}"}`);
    expect(r.json).toMatchObject({ decision: 'deny', status: 403, leak: 'GITHUB_TOKEN' });
  });

  it('an op:// secret is decided from its placeholder and hosts alone (no op on PATH, no lookup)', () => {
    const r = withSettings('--request', 'POST', 'https://api.example.com/v1', '--data', '{"k":"SANDCAT_PLACEHOLDER_OP_TOKEN"}');
    expect(r.json).toMatchObject({ decision: 'allow', substituted: ['OP_TOKEN'] });
  });

  it('a body in an encoding sandcat cannot decode is 415', () => {
    const r = withSettings('--request', 'POST', 'https://api.example.com/v1', '-H', 'Content-Encoding: zstd', '--data', 'x');
    expect(r.json).toMatchObject({ decision: 'deny', status: 415 });
  });

  it('a Host header naming another host must be allowed too (domain fronting)', () => {
    const r = withSettings('--request', 'POST', 'https://api.github.com/', '-H', 'Host: evil.example');
    expect(r.json).toMatchObject({ decision: 'deny', status: 403, rule: null });
    expect(r.json.reason).toContain('evil.example');
  });

  it('accepts "METHOD URL" as one --request value', () => {
    expect(withSettings('--request', 'GET https://example.org/').json).toMatchObject({ decision: 'allow' });
  });
});

describe('sandcat check --dns', () => {
  it('allowed: NOERROR; a method rule matches on host alone', () => {
    const r = withSettings('--dns', 'anything.example');
    expect(r.status).toBe(0);
    expect(r.json).toEqual({
      kind: 'dns',
      decision: 'allow',
      status: null,
      rcode: 'NOERROR',
      rule: { layer: 'project', index: 1, action: 'allow', host: '*', method: 'GET' },
      substituted: [],
      leak: null,
      reason: 'lookup anything.example allowed by project settings network[1] (allow "*" method GET)',
    });
  });

  it('the first rule for the host decides, even a method deny rule', () => {
    const r = withSettings('--dns', 'UPLOADS.github.com.');
    expect(r.status).toBe(1);
    expect(r.json).toMatchObject({ decision: 'deny', rcode: 'REFUSED', rule: { index: 0, host: 'uploads.github.com' } });
    expect(r.json.reason).toContain('never resolved upstream');
  });
});

describe('settings and usage', () => {
  it('reads the settings paths from SANDCAT_USER_SETTINGS and SANDCAT_PROJECT_DIR', () => {
    const r = check(['--request', 'POST', 'https://api.github.com/'], { SANDCAT_USER_SETTINGS: join(FIX, 'user.json'), SANDCAT_PROJECT_DIR: join(FIX, 'project') });
    expect(r.json).toMatchObject({ decision: 'allow', rule: { layer: 'user', index: 0 } });
  });

  it('no settings at all: everything is denied, and stderr says no file was found', () => {
    const r = check(['--user-settings', '/nonexistent/s.json', '--project-dir', '/nonexistent/p', '--dns', 'github.com']);
    expect(r.status).toBe(1);
    expect(r.json).toMatchObject({ decision: 'deny', rcode: 'REFUSED', rule: null });
    expect(r.json.reason).toContain('no settings file was found');
    expect(r.stderr).toContain('warning: no settings file was found');
  });

  it('invalid settings: exit 2, nothing on stdout, the file, JSON path and fix on stderr', () => {
    const bad = join(ROOT, 'test/fixtures/settings/invalid/bad-action.json');
    const r = check(['--user-settings', bad, '--project-dir', '/nonexistent', '--dns', 'x']);
    expect(r.status).toBe(2);
    expect(r.json).toBeNull();
    expect(r.stderr).toContain(`${bad}: at network[1].action: must be "allow" or "deny"`);
    expect(r.stderr).toContain('fix: use "action": "allow"');
  });

  it.each([
    [['--dns', 'x', '--request', 'GET', 'https://x/']],
    [[]],
    [['--request', 'GET']],
    [['--request', 'GET', 'ftp://x/']],
    [['--request', 'GET', 'https://x/', '-H', 'no colon']],
  ])('usage error %j: exit 2', (args) => {
    const r = withSettings(...args);
    expect(r.status).toBe(2);
    expect(r.json).toBeNull();
    expect(r.stderr).toMatch(/^sandcat check: /);
  });

  it('--help documents the output and the host defaults', () => {
    const out = execFileSync(process.execPath, [join(ROOT, 'bin/sandcat'), 'check', '--help'], { encoding: 'utf8' });
    expect(out).toContain('--request METHOD URL');
    expect(out).toContain('~/.config/sandcat/settings.json and ./.sandcat');
  });
});
