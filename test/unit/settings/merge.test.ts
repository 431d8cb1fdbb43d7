import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadSettings, mergeLayers, isEnabled, type RawLayer } from '../../../src/settings/index.js';
import { SettingsError } from '../../../src/errors.js';

const FIXTURES = join(import.meta.dirname, '../../fixtures/settings/layers');
const layered = () => loadSettings({ userFile: join(FIXTURES, 'user.json'), projectDir: join(FIXTURES, 'project') });

/** Build layers from objects, for cases a fixture file would only obscure. */
function layers(spec: Partial<Record<'user' | 'project' | 'local', unknown>>): RawLayer[] {
  return (['user', 'project', 'local'] as const).map((layer) => ({
    layer,
    file: `/cfg/${layer}.json`,
    text: spec[layer] === undefined ? null : typeof spec[layer] === 'string' ? (spec[layer] as string) : JSON.stringify(spec[layer]),
  }));
}

describe('merge of the three layers (fixture: user + project + local)', () => {
  it('env merges per name and the higher layer wins', () => {
    expect(layered().env).toEqual({ GIT_USER_NAME: 'User Name', SHARED: 'from-local', PROJECT_ONLY: 'p' });
  });

  it('secrets merge per name and the higher layer replaces the whole entry', () => {
    const s = layered().secrets;
    expect(Object.keys(s).sort()).toEqual(['ANTHROPIC_API_KEY', 'GITHUB_TOKEN']);
    expect(s.GITHUB_TOKEN).toMatchObject({
      source: { kind: 'op', ref: 'op://Private/GitHub/token' },
      hosts: ['api.github.com'],
      placeholder: 'gho_sandcat_placeholder_0000000000000',
      layer: 'local',
      file: join(FIXTURES, 'project', 'settings.local.json'),
    });
    expect(s.ANTHROPIC_API_KEY).toMatchObject({ source: { kind: 'value', value: 'sk-ant-user' }, placeholder: 'SANDCAT_PLACEHOLDER_ANTHROPIC_API_KEY', layer: 'user' });
  });

  it('network concatenates local, then project, then user, skipping disabled rules but keeping their index', () => {
    const rules = layered().rules.map((r) => [r.layer, r.index, r.action, r.host, r.method ?? null]);
    expect(rules).toEqual([
      ['local', 0, 'allow', 'internal.corp.dev', null],
      ['project', 0, 'allow', '*', 'GET'],
      ['project', 2, 'allow', 'port.example', null],
      ['user', 0, 'allow', '*.github.com', null],
      ['user', 1, 'allow', 'github.com', null],
    ]);
    expect(layered().rules[2]).toMatchObject({ port: 8443, intercept: false, file: join(FIXTURES, 'project', 'settings.json') });
  });

  it('tokens take the highest non-empty value (empty and blank strings do not override)', () => {
    const s = layered();
    expect(s.opServiceAccountToken).toBe('ops_project_token');
    expect(s.protonPassToken).toBe('pst_user::KEY');
  });

  it('dns_servers comes from the highest layer that sets it; non-IP entries are dropped with a warning', () => {
    const s = layered();
    expect(s.dnsServers).toEqual(['1.1.1.1']);
    expect(s.warnings.filter((w) => w.includes('dns_servers'))).toEqual([
      expect.stringContaining('dns_servers[1] = "dns.google" is not an IP address'),
      expect.stringContaining('dns_servers[2] = "8.8.8.8:53" is not an IP address'),
    ]);
  });

  it('extra_hosts merge per normalized name and the higher layer wins', () => {
    expect(layered().extraHosts).toEqual({ 'db.internal': '10.0.0.7', 'cache.internal': '10.0.0.6' });
  });

  it('upstream_ca is resolved relative to the file that sets it', () => {
    expect(layered().upstreamCa).toBe(join(FIXTURES, 'project', 'certs/corp.pem'));
  });

  it('records every layer it looked for, present or not', () => {
    const s = loadSettings({ userFile: join(FIXTURES, 'user.json'), projectDir: join(FIXTURES, 'nowhere') });
    expect(s.sources.map((x) => [x.layer, x.present])).toEqual([['user', true], ['project', false], ['local', false]]);
    expect(s.configured).toBe(true);
  });
});

describe('no settings at all', () => {
  it('is not configured, has no rules, and says so in a warning', () => {
    const s = loadSettings({ userFile: '/nonexistent/settings.json', projectDir: '/nonexistent/project' });
    expect(s.configured).toBe(false);
    expect(s.rules).toEqual([]);
    expect(s.warnings.join('\n')).toMatch(/no settings file was found .*every request and lookup is denied/);
  });

  it('an empty file counts as present (deny all) with a warning', () => {
    const s = mergeLayers(layers({ user: '  \n' }));
    expect(s.configured).toBe(true);
    expect(s.warnings).toContain('/cfg/user.json: the file is empty; treated as {}');
  });

  it('a directory where the file should be (Docker bind mount of a missing file) is skipped with a warning', () => {
    const s = loadSettings({ userFile: FIXTURES, projectDir: '/nonexistent' });
    expect(s.configured).toBe(false);
    expect(s.warnings[0]).toMatch(/is a directory.*skipped/);
  });

  it('a UTF-8 byte order mark is accepted', () => {
    const s = mergeLayers(layers({ user: '\uFEFF{"env": {"A": "b"}}' }));
    expect(s.env).toEqual({ A: 'b' });
  });
});

describe('enabled spellings', () => {
  const cases: [unknown, boolean][] = [
    [undefined, true], [null, true], [true, true], [false, false], [1, true], [0, false],
    ['true', true], ['yes', true], ['on', true], ['1', true],
    ['false', false], ['FALSE', false], [' no ', false], ['Off', false], ['0', false], ['', false],
  ];
  it.each(cases)('enabled: %j → %s', (value, expected) => {
    expect(isEnabled(value)).toBe(expected);
    const s = mergeLayers(layers({ user: { network: [{ action: 'allow', host: 'a.example', ...(value === undefined ? {} : { enabled: value }) }] } }));
    expect(s.rules.length).toBe(expected ? 1 : 0);
  });

  it('an unknown spelling keeps the rule and warns', () => {
    const s = mergeLayers(layers({ user: { network: [{ action: 'allow', host: 'a.example', enabled: 'maybe' }] } }));
    expect(s.rules.length).toBe(1);
    expect(s.warnings.join('\n')).toContain('network[0].enabled is "maybe", which is not a known spelling');
  });
});

describe('warnings (never errors) for things sandcat tolerated', () => {
  const warningsOf = (user: unknown) => mergeLayers(layers({ user })).warnings.join('\n');

  it('unknown keys at every level', () => {
    const w = warningsOf({ colour: 'red', network: [{ action: 'allow', host: 'a.example', comment: 'x' }], secrets: { T: { value: 'v', hosts: ['a.example'], note: 'n' } } });
    expect(w).toContain('unknown key colour is ignored');
    expect(w).toContain('unknown key network[0].comment is ignored');
    expect(w).toContain('unknown key secrets.T.note is ignored');
  });

  it.each([
    ['op', '1Password', 'op://Private/GitHub/token'],
    ['pass', 'Proton Pass', 'pass://Work/GitHub/password'],
  ])('a value that looks like a %s:// reference (and the warning does not quote it)', (key, product, ref) => {
    const w = warningsOf({ secrets: { T: { value: ref, hosts: ['a.example'] } } });
    expect(w).toContain(`secrets.T.value starts with ${key}://, so it looks like a ${product} reference, but it is used literally as the secret. Did you mean to write it under "${key}" instead of "value"?`);
    expect(w).not.toContain(ref);
  });

  it('a secret without hosts is blocked everywhere', () => {
    expect(warningsOf({ secrets: { T: { value: 'v' } } })).toContain('secrets.T has no "hosts", so its placeholder is blocked everywhere');
  });

  it('pitfall globs and "*" in a secret\'s hosts', () => {
    const w = warningsOf({ secrets: { T: { value: 'v', hosts: ['*github.com', '*', 'https://api.github.com/'] } } });
    expect(w).toContain('secrets.T.hosts[0]: "*github.com" also matches hosts like "evilgithub.com"');
    expect(w).toContain('secrets.T.hosts[1]: "*" sends the real value to every host');
    expect(w).toContain('secrets.T.hosts[2]: "https://api.github.com/" is a URL, so it never matches; use the host name alone: "api.github.com"');
  });

  it('a secret and an env variable with one name', () => {
    expect(warningsOf({ env: { T: 'x' }, secrets: { T: { value: 'v', hosts: ['a.example'] } } })).toContain("secrets.T and env.T share a name; the agent sees the secret's placeholder");
  });

  it('extra_hosts values that are not IPs are dropped', () => {
    const s = mergeLayers(layers({ user: { extra_hosts: { 'a.internal': 'not-an-ip', 'b.internal': '::1' } } }));
    expect(s.extraHosts).toEqual({ 'b.internal': '::1' });
    expect(s.warnings.join('\n')).toContain('extra_hosts.a.internal = "not-an-ip" is not an IP address; ignored');
  });

  it('dns_servers entries of the wrong type are dropped, and an all-bad list falls back to the system resolver', () => {
    const s = mergeLayers(layers({ user: { dns_servers: [53, null, ' 2606:4700:4700::1111 '] } }));
    expect(s.dnsServers).toEqual(['2606:4700:4700::1111']);
    const t = mergeLayers(layers({ user: { dns_servers: ['resolver.example'] } }));
    expect(t.dnsServers).toEqual([]);
    expect(t.warnings.join('\n')).toContain('dns_servers has no usable entry; the proxy uses its system resolver');
  });

  it('a higher layer with dns_servers: [] wins over a lower one (it sets the key)', () => {
    expect(mergeLayers(layers({ user: { dns_servers: ['1.1.1.1'] }, local: { dns_servers: [] } })).dnsServers).toEqual([]);
    expect(mergeLayers(layers({ user: { dns_servers: ['1.1.1.1'] }, local: {} })).dnsServers).toEqual(['1.1.1.1']);
  });
});

describe('errors name the file, the JSON path and the fix', () => {
  it('duplicate placeholders across layers name the higher file and the other secret (regression: it named the layer)', () => {
    const spec = {
      user: { secrets: { A: { value: 'a', hosts: ['a.example'], placeholder: 'SHARED_PLACEHOLDER' } } },
      local: { secrets: { B: { value: 'b', hosts: ['b.example'], placeholder: 'SHARED_PLACEHOLDER' } } },
    };
    let err: unknown;
    try {
      mergeLayers(layers(spec));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SettingsError);
    const e = err as SettingsError;
    expect(e.file).toBe('/cfg/local.json');
    expect(e.jsonPath).toBe('secrets.B.placeholder');
    expect(e.message).toBe('/cfg/local.json: at secrets.B.placeholder: is the same as the placeholder of secret A (in /cfg/user.json)');
    expect(e.hint).toMatch(/own placeholder/);
  });

  it('a custom placeholder equal to another secret\'s default placeholder is a duplicate too', () => {
    expect(() => mergeLayers(layers({ user: { secrets: { A: { value: 'a', hosts: ['x'] }, B: { value: 'b', hosts: ['x'], placeholder: 'SANDCAT_PLACEHOLDER_A' } } } }))).toThrow(/secrets\.B\.placeholder: is the same as the placeholder of secret A/);
  });

  it('a syntax error reports line and column but never the file text (it may hold a secret)', () => {
    const text = '{\n  "secrets": {"T": {"value": "hunter2-real-secret",, "hosts": []}}\n}';
    let err: SettingsError | undefined;
    try {
      mergeLayers(layers({ user: text }));
    } catch (e) {
      err = e as SettingsError;
    }
    expect(err?.message).toMatch(/^\/cfg\/user\.json: is not valid JSON: .* at line 2, column \d+$/);
    expect(err?.message).not.toContain('hunter2');
  });

  it('a validation error never echoes the offending value', () => {
    let err: SettingsError | undefined;
    try {
      mergeLayers(layers({ user: { secrets: { T: { value: 'hunter2-real-secret', op: 'op://a/b/c', hosts: [] } } } }));
    } catch (e) {
      err = e as SettingsError;
    }
    expect(err?.message).toContain('secrets.T');
    expect(err?.message).not.toContain('hunter2');
  });
});
