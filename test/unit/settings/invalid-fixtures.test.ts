import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadSettings } from '../../../src/settings/index.js';
import { SettingsError } from '../../../src/errors.js';

/**
 * One file per broken config in test/fixtures/settings/invalid. Each must stop loading with a
 * SettingsError that names the file, the JSON path, the problem, and (nearly always) a fix.
 */
const DIR = join(import.meta.dirname, '../../fixtures/settings/invalid');

const CASES: Record<string, { path: string; problem: RegExp; hint?: RegExp | null }> = {
  'not-json.json': { path: '', problem: /is not valid JSON: expected a value .* at line 1, column 14/ },
  'trailing-comma.json': { path: '', problem: /is not valid JSON: expected a value \(a trailing comma\?\) at line 4, column 3/ },
  'comments.json': { path: '', problem: /is not valid JSON: a comment \(JSON has no comments\) at line 2, column 3/ },
  'top-level-array.json': { path: '(top level)', problem: /must be a JSON object/, hint: /wrap the settings/ },
  'bad-action.json': { path: 'network[1].action', problem: /must be "allow" or "deny"/, hint: /"action": "allow"/ },
  'missing-host.json': { path: 'network[0].host', problem: /must be a host name or glob/, hint: /"host": "api.github.com"/ },
  'misspelled-host.json': { path: 'network[0].host', problem: /must be a host name or glob.*found "hots": did you mean "host"\?/ },
  'empty-host.json': { path: 'network[0].host', problem: /must be a non-empty host name or glob/ },
  'bad-method.json': { path: 'network[0].method', problem: /must be an HTTP method such as "GET"/, hint: /write two rules/ },
  'bad-port.json': { path: 'network[0].port', problem: /must be from 1 to 65535/ },
  'port-string.json': { path: 'network[0].port', problem: /must be a port number/, hint: /"port": 443/ },
  'network-not-array.json': { path: 'network', problem: /must be a list of rules/ },
  'rule-not-object.json': { path: 'network[0]', problem: /must be a rule object/ },
  'enabled-object.json': { path: 'network[0].enabled', problem: /must be true or false/ },
  'intercept-string.json': { path: 'network[0].intercept', problem: /must be true or false/ },
  'secret-two-sources.json': { path: 'secrets.GITHUB_TOKEN', problem: /has "value" and "op"; keep exactly one/, hint: /one of "value"/ },
  'secret-no-source.json': { path: 'secrets.GITHUB_TOKEN', problem: /needs exactly one of "value", "op" or "pass"/ },
  'secret-not-object.json': { path: 'secrets.GITHUB_TOKEN', problem: /must be an object such as/ },
  'secret-bad-name.json': { path: 'secrets["MY-TOKEN"]', problem: /this name must be a shell variable name/, hint: /GITHUB_TOKEN/ },
  'secret-hosts-string.json': { path: 'secrets.GITHUB_TOKEN.hosts', problem: /must be a list of host globs/ },
  'secret-short-placeholder.json': { path: 'secrets.GITHUB_TOKEN.placeholder', problem: /at least 8 characters/ },
  'secret-placeholder-space.json': { path: 'secrets.GITHUB_TOKEN.placeholder', problem: /printable ASCII without spaces/ },
  'bad-op-ref.json': { path: 'secrets.GITHUB_TOKEN.op', problem: /must be a 1Password reference/, hint: /op:\/\/vault\/item\/field/ },
  'bad-pass-ref.json': { path: 'secrets.GITHUB_TOKEN.pass', problem: /must be a Proton Pass reference/ },
  'duplicate-placeholder.json': { path: 'secrets.B_TOKEN.placeholder', problem: /is the same as the placeholder of secret A_TOKEN$/ },
  'env-bad-name.json': { path: 'env["1ST"]', problem: /this name must be a shell variable name/ },
  'env-number-value.json': { path: 'env.RETRIES', problem: /must be a string \(quote numbers/ },
  'env-not-object.json': { path: 'env', problem: /must be an object of NAME/ },
  'dns-servers-string.json': { path: 'dns_servers', problem: /must be a list of IP addresses/ },
  'extra-hosts-number.json': { path: 'extra_hosts["db.internal"]', problem: /must be an IP address/ },
  'token-number.json': { path: 'op_service_account_token', problem: /must be a string/ },
  'upstream-ca-empty.json': { path: 'upstream_ca', problem: /must be a file path/ },
};

describe('invalid settings fixtures', () => {
  it('every fixture file has a case and every case a file', () => {
    expect(readdirSync(DIR).sort()).toEqual(Object.keys(CASES).sort());
  });

  it.each(Object.entries(CASES))('%s', (name, want) => {
    const file = join(DIR, name);
    let err: unknown;
    try {
      // As the user layer; the same parse applies to every layer.
      loadSettings({ userFile: file, projectDir: '/nonexistent' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SettingsError);
    const e = err as SettingsError;
    expect(e.code).toBe('E_SETTINGS_INVALID');
    expect(e.file).toBe(file);
    expect(e.jsonPath).toBe(want.path);
    expect(e.message.startsWith(want.path ? `${file}: at ${want.path}: ` : `${file}: `)).toBe(true);
    expect(e.message).toMatch(want.problem);
    expect(e.hint, 'every error suggests a fix').toBeTruthy();
    if (want.hint) expect(e.hint).toMatch(want.hint);
  });

  it('the same broken file as the project layer names the project file', () => {
    const dir = join(import.meta.dirname, '../../fixtures/settings');
    expect(() => loadSettings({ userFile: '/nonexistent', projectDir: join(dir, 'broken-project') })).toThrow(new RegExp(`broken-project/settings\\.local\\.json: at network\\[0\\]\\.action`));
  });
});
