import { describe, expect, it } from 'vitest';
import { compilePolicy, decide, decideAll, globToRegExp, globPitfall, hostPatternProblem, normalizeHost, type RuleDefinition } from '../../../src/policy/index.js';
import { mergeLayers } from '../../../src/settings/index.js';

type R = Partial<RuleDefinition> & Pick<RuleDefinition, 'action' | 'host'>;
/** Rules as one layer, indexed in order, unless a case says otherwise. */
function policyOf(rules: R[]) {
  return compilePolicy(rules.map((r, index) => ({ layer: 'user', index, ...r })));
}

describe('host glob matching (fnmatch)', () => {
  const cases: [pattern: string, host: string, matches: boolean][] = [
    ['github.com', 'github.com', true],
    ['github.com', 'GitHub.COM', true],
    ['github.com', 'github.com.', true],
    ['github.com', 'github.com..', true],
    ['GitHub.com', 'github.com', true],
    ['github.com.', 'github.com', true],
    ['github.com', 'api.github.com', false],
    ['github.com', 'github.co', false],
    ['github.com', 'githubxcom', false], // "." is literal, not a regex wildcard
    ['*.github.com', 'api.github.com', true],
    ['*.github.com', 'a.b.github.com', true], // * crosses dots
    ['*.github.com', 'github.com', false],
    ['*.github.com', 'evilgithub.com', false],
    ['*github.com', 'evilgithub.com', true],
    ['*github.com', 'github.com', true],
    ['*', 'anything.example', true],
    ['*', '10.0.0.1', false], // IP literals match only rules naming IPs (test/unit/policy/ip-literals.test.ts)
    ['api?.example', 'api1.example', true],
    ['api?.example', 'api.example', false],
    ['api?.example', 'api12.example', false],
    ['api[0-9].example', 'api7.example', true],
    ['api[0-9].example', 'apix.example', false],
    ['api[!0-9].example', 'apix.example', true],
    ['api[!0-9].example', 'api7.example', false],
    ['[]x].example', '].example', true], // "]" first in a class is literal
    ['[!]x].example', 'y.example', true],
    ['[!]x].example', '].example', false],
    ['a[.example', 'a[.example', true], // unclosed "[" is literal
    ['a^b.example', 'a^b.example', true], // regex metacharacters are literal
    ['a+b.example', 'aab.example', false],
    ['a(b).example', 'a(b).example', true],
    ['**.example', 'x.y.example', true],
    ['10.0.0.*', '10.0.0.42', true],
    ['::1', '[::1]', true],
    ['2001:db8::1', '2001:DB8::1', true],
  ];
  it.each(cases)('%s vs %s → %s', (pattern, host, matches) => {
    const p = policyOf([{ action: 'allow', host: pattern }]);
    expect(decide(p, { host }).action).toBe(matches ? 'allow' : 'deny');
  });

  it('compiles each glob once to an anchored RegExp', () => {
    const re = globToRegExp('*.github.com');
    expect(re.test('x.github.com')).toBe(true);
    expect(re.test('x.github.com.evil')).toBe(false);
  });

  it.each([
    ['API.GitHub.com.', 'api.github.com'],
    ['  example.com ', 'example.com'],
    ['[::1]', '::1'],
  ])('normalizeHost(%j) = %j', (raw, want) => expect(normalizeHost(raw)).toBe(want));
});

describe('first match wins, default deny', () => {
  it('an earlier deny beats a later allow', () => {
    const p = policyOf([{ action: 'deny', host: 'evil.github.com' }, { action: 'allow', host: '*.github.com' }]);
    expect(decide(p, { host: 'evil.github.com' })).toMatchObject({ action: 'deny', reason: 'matched-deny', rule: { index: 0 } });
    expect(decide(p, { host: 'api.github.com' })).toMatchObject({ action: 'allow', reason: 'matched-allow', rule: { index: 1 } });
  });

  it('an earlier glob beats a later exact rule, and an earlier exact rule beats a later glob', () => {
    const p = policyOf([{ action: 'deny', host: '*.example' }, { action: 'allow', host: 'a.example' }]);
    expect(decide(p, { host: 'a.example' }).rule?.index).toBe(0);
    const q = policyOf([{ action: 'allow', host: 'a.example' }, { action: 'deny', host: '*.example' }]);
    expect(decide(q, { host: 'a.example' })).toMatchObject({ action: 'allow', rule: { index: 0 } });
  });

  it('nothing matched: deny with reason no-rule-matched', () => {
    const d = decide(policyOf([{ action: 'allow', host: 'github.com' }]), { host: 'example.com', method: 'GET' });
    expect(d).toMatchObject({ action: 'deny', rule: null, reason: 'no-rule-matched', host: 'example.com' });
    expect(d.explain).toBe('GET example.com denied: no rule matched (default deny)');
  });

  it('an empty rule list denies everything', () => {
    expect(decide(policyOf([]), { host: 'github.com' })).toMatchObject({ action: 'deny', reason: 'no-rule-matched' });
  });

  it('no settings at all denies everything, with a reason that says so', () => {
    const p = compilePolicy([], false);
    const d = decide(p, { host: 'github.com', method: 'GET' });
    expect(d).toMatchObject({ action: 'deny', reason: 'no-settings', rule: null });
    expect(d.explain).toMatch(/no settings file was found/);
  });

  it('an empty host is denied', () => {
    expect(decide(policyOf([{ action: 'allow', host: '*' }]), { host: '' })).toMatchObject({ action: 'deny', reason: 'empty-host' });
  });

  it('the explanation names the layer, index, action, host and method of the rule', () => {
    const d = decide(policyOf([{ action: 'allow', host: '*.github.com', method: 'get', layer: 'project', index: 3 }]), { host: 'api.github.com', method: 'GET' });
    expect(d.explain).toBe('GET api.github.com allowed by project settings network[3] (allow "*.github.com" method GET)');
  });
});

describe('order across layers (local, then project, then user)', () => {
  const settings = mergeLayers([
    { layer: 'user', file: '/u.json', text: JSON.stringify({ network: [{ action: 'allow', host: '*.corp.dev' }, { action: 'deny', host: 'x.example' }] }) },
    { layer: 'project', file: '/p.json', text: JSON.stringify({ network: [{ action: 'deny', host: 'secret.corp.dev' }, { action: 'allow', host: '*', method: 'GET' }] }) },
    { layer: 'local', file: '/l.json', text: JSON.stringify({ network: [{ action: 'allow', host: 'secret.corp.dev', method: 'POST' }] }) },
  ]);
  const p = compilePolicy(settings.rules);
  const cases: [method: string | undefined, host: string, action: string, layer: string | null, index: number | null][] = [
    ['POST', 'secret.corp.dev', 'allow', 'local', 0],
    ['GET', 'secret.corp.dev', 'deny', 'project', 0],
    [undefined, 'secret.corp.dev', 'allow', 'local', 0], // DNS: the local POST rule matches on host
    ['GET', 'x.example', 'allow', 'project', 1],
    ['POST', 'x.example', 'deny', 'user', 1],
    ['POST', 'api.corp.dev', 'allow', 'user', 0],
    ['POST', 'example.com', 'deny', null, null],
  ];
  it.each(cases)('%s %s → %s by %s[%s]', (method, host, action, layer, index) => {
    const d = decide(p, { host, method });
    expect(d.action).toBe(action);
    expect(d.rule ? [d.rule.layer, d.rule.index] : [null, null]).toEqual([layer, index]);
  });
});

describe('methods', () => {
  const p = policyOf([{ action: 'deny', host: 'api.example', method: 'delete' }, { action: 'allow', host: 'api.example', method: 'GET' }]);
  it.each([
    ['GET', 'allow'],
    ['get', 'allow'],
    ['Get', 'allow'],
    ['DELETE', 'deny'],
    ['delete', 'deny'],
    ['POST', 'deny'],
  ])('%s → %s (case-insensitive)', (method, action) => expect(decide(p, { host: 'api.example', method }).action).toBe(action));

  it('DNS (no method) ignores a rule\'s method: the first rule for the host decides', () => {
    expect(decide(p, { host: 'api.example' })).toMatchObject({ action: 'deny', rule: { index: 0 } });
    const q = policyOf([{ action: 'allow', host: '*', method: 'GET' }]);
    expect(decide(q, { host: 'anything.example' }).action).toBe('allow');
  });

  it('opaque connections (raw TCP): a method rule may deny but never allow', () => {
    const q = policyOf([{ action: 'allow', host: '*', method: 'GET' }, { action: 'allow', host: 'ssh.example' }]);
    expect(decide(q, { host: 'anything.example', opaque: true })).toMatchObject({ action: 'deny', reason: 'no-rule-matched' });
    expect(decide(q, { host: 'ssh.example', opaque: true })).toMatchObject({ action: 'allow', rule: { index: 1 } });
    const r = policyOf([{ action: 'deny', host: 'x.example', method: 'POST' }, { action: 'allow', host: 'x.example' }]);
    expect(decide(r, { host: 'x.example', opaque: true })).toMatchObject({ action: 'deny', rule: { index: 0 } });
  });
});

describe('ports (extension)', () => {
  const p = policyOf([{ action: 'allow', host: 'db.example', port: 5432 }, { action: 'allow', host: 'web.example' }]);
  it.each([
    ['db.example', 5432, 'allow'],
    ['db.example', 5433, 'deny'],
    ['db.example', undefined, 'allow'], // DNS has no port
    ['web.example', 8080, 'allow'], // a rule without a port matches any
  ] as const)('%s:%s → %s', (host, port, action) => expect(decide(p, { host, port }).action).toBe(action));
});

describe('decideAll: a connection that claims several names', () => {
  const p = policyOf([{ action: 'allow', host: 'good.example' }, { action: 'allow', host: 'also.example' }]);
  it('allows only if every distinct name is allowed', () => {
    expect(decideAll(p, ['good.example', 'GOOD.example.', 'also.example'], 'GET').action).toBe('allow');
  });
  it('returns the first denial (domain fronting)', () => {
    const d = decideAll(p, ['good.example', 'evil.example'], 'GET');
    expect(d).toMatchObject({ action: 'deny', host: 'evil.example', reason: 'no-rule-matched' });
  });
  it('no names at all is denied', () => {
    expect(decideAll(p, []).reason).toBe('empty-host');
  });
  it('passes opaque through', () => {
    const q = policyOf([{ action: 'allow', host: '*', method: 'GET' }]);
    expect(decideAll(q, ['x.example'], undefined, 22, { opaque: true }).action).toBe('deny');
    expect(decideAll(q, ['x.example'], undefined, 22).action).toBe('allow');
  });
});

describe('pitfall warnings at load', () => {
  it.each([
    ['*github.com', '"*github.com" also matches hosts like "evilgithub.com"; to match a domain and its subdomains use "github.com" and "*.github.com"'],
    ['github.*', '"github.*" also matches hosts like "github.evil.example": * crosses dots, so it can stand for several labels'],
    ['api.*.example', '"api.*.example" also matches hosts like "api.evil.example.example": * crosses dots, so it can stand for several labels'],
    ['*.github.com', null],
    ['*', null],
    ['github.com', null],
    ['api?.github.com', null],
  ])('globPitfall(%j)', (pattern, want) => expect(globPitfall(pattern)).toBe(want));

  it.each([
    ['https://github.com', '"https://github.com" is a URL, so it never matches; use the host name alone: "github.com"'],
    ['github.com/org', '"github.com/org" contains a path, so it never matches; use the host name alone: "github.com"'],
    ['github.com:443', '"github.com:443" contains a port, so it never matches; use "host": "github.com" with "port": 443'],
    ['git hub.com', '"git hub.com" contains whitespace, so it never matches'],
    [' github.com ', null],
    ['::1', null],
    ['github.com', null],
  ])('hostPatternProblem(%j)', (pattern, want) => expect(hostPatternProblem(pattern)).toBe(want));

  it('compilePolicy collects them with the file and rule index', () => {
    const p = compilePolicy([
      { action: 'allow', host: '*github.com', layer: 'project', index: 2, file: '/p/settings.json' },
      { action: 'allow', host: 'https://x.example', layer: 'user', index: 0 },
      { action: 'allow', host: '*.ok.example', layer: 'user', index: 1 },
    ]);
    expect(p.warnings).toEqual([
      expect.stringMatching(/^\/p\/settings\.json: network\[2\]\.host: "\*github\.com" also matches hosts like "evilgithub\.com"/),
      expect.stringMatching(/^user settings: network\[0\]\.host: "https:\/\/x\.example" is a URL/),
    ]);
  });
});
