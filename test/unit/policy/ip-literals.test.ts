import { describe, expect, it } from 'vitest';
import { compilePolicy, decide, decideAll, type RuleDefinition } from '../../../src/policy/index.js';
import { ipLiteral, isIpShapedGlob } from '../../../src/policy/ip-literal.js';

type R = Partial<RuleDefinition> & Pick<RuleDefinition, 'action' | 'host'>;
function policyOf(rules: R[]) {
  return compilePolicy(rules.map((r, index) => ({ layer: 'user', index, ...r })));
}
const allowed = (rules: R[], host: string, extra: { method?: string; port?: number } = {}) => decide(policyOf(rules), { host, ...extra }).action === 'allow';

describe('IP literals are denied unless a rule names that IP', () => {
  it.each([
    '10.0.0.1',
    '127.0.0.1',
    '::1',
    '[::1]',
    '::ffff:127.0.0.1',
    '[::ffff:10.201.0.99]',
    '2001:db8::1',
    // The red-team hole: a zone ID carrying a name that the glob would have matched.
    '::1%x.cdn.allowed.test',
    '[::1%x.cdn.allowed.test]',
    '::ffff:127.0.0.1%x.cdn.allowed.test',
    'fe80::1%eth0',
  ])('"*" and "*.cdn.allowed.test" never match %s', (host) => {
    expect(allowed([{ action: 'allow', host: '*' }], host)).toBe(false);
    expect(allowed([{ action: 'allow', host: '*.cdn.allowed.test' }], host)).toBe(false);
    expect(allowed([{ action: 'allow', host: '*.test' }, { action: 'allow', host: '*' }], host, { method: 'GET', port: 80 })).toBe(false);
  });

  it('names still match "*" and name globs', () => {
    expect(allowed([{ action: 'allow', host: '*' }], 'anything.example')).toBe(true);
    expect(allowed([{ action: 'allow', host: '*.cdn.allowed.test' }], 'x.cdn.allowed.test')).toBe(true);
    // A name that merely starts like an IP is a name.
    expect(allowed([{ action: 'allow', host: '*' }], '10.0.0.1.nip.io')).toBe(true);
  });

  it.each([
    ['127.0.0.1', '::ffff:127.0.0.1'],
    ['127.0.0.1', '[::ffff:7f00:1]'],
    ['::ffff:127.0.0.1', '127.0.0.1'],
    ['2001:db8::1', '2001:0DB8:0:0:0:0:0:1'],
    ['2001:0db8:0000::1', '[2001:db8::1]'],
    ['::1', '0:0:0:0:0:0:0:1'],
    ['fe80::1', 'fe80::1%eth0'],
  ])('a rule naming %s matches %s (canonical forms)', (rule, host) => {
    const p = policyOf([{ action: 'allow', host: rule }]);
    const d = decide(p, { host });
    expect(d.action).toBe('allow');
    expect(d.rule?.index).toBe(0);
  });

  it('a rule naming one IP does not match another', () => {
    expect(allowed([{ action: 'allow', host: '10.0.0.1' }], '10.0.0.2')).toBe(false);
    expect(allowed([{ action: 'allow', host: '::1' }], '::2')).toBe(false);
  });

  it.each([
    ['10.0.0.*', '10.0.0.42', true],
    ['10.0.0.*', '::ffff:10.0.0.42', true],
    ['10.0.0.*', '10.0.1.42', false],
    ['10.0.0.?', '10.0.0.7', true],
    ['192.168.[0-9].*', '192.168.3.4', true],
    ['192.168.[0-9].*', '192.168.30.4', false],
    ['fd00::*', 'fd00::5', true],
    ['fd00::*', 'fd01::5', false],
    // An IP-shaped glob is for IPs only: it never matches a name that starts like one.
    ['10.0.0.*', '10.0.0.attacker.example', false],
    ['10.0.0.*', '10.0.0.1.nip.io', false],
  ])('IP-shaped glob %s vs %s → %s', (rule, host, want) => {
    expect(allowed([{ action: 'allow', host: rule }], host)).toBe(want);
  });

  it('first match wins across IP rules, with method and port', () => {
    const rules: R[] = [
      { action: 'deny', host: '10.0.0.5' },
      { action: 'allow', host: '10.0.0.*', method: 'GET' },
      { action: 'allow', host: '10.0.0.*', port: 5432 },
    ];
    expect(allowed(rules, '10.0.0.5', { method: 'GET' })).toBe(false);
    expect(allowed(rules, '10.0.0.6', { method: 'GET' })).toBe(true);
    expect(allowed(rules, '10.0.0.6', { method: 'POST', port: 80 })).toBe(false);
    expect(allowed(rules, '10.0.0.6', { method: 'POST', port: 5432 })).toBe(true);
  });

  it('an IP denial says why "*" did not apply', () => {
    const d = decide(policyOf([{ action: 'allow', host: '*' }]), { host: '[::ffff:10.1.2.3]', method: 'GET' });
    expect(d).toMatchObject({ action: 'deny', reason: 'no-rule-matched', host: '10.1.2.3' });
    expect(d.explain).toContain('GET 10.1.2.3 denied');
    expect(d.explain).toContain('never by "*"');
  });

  it('decideAll: an allowed name does not carry an IP literal claimed beside it', () => {
    const p = policyOf([{ action: 'allow', host: '*.cdn.allowed.test' }]);
    expect(decideAll(p, ['x.cdn.allowed.test', '::1%x.cdn.allowed.test'], 'GET', 80).action).toBe('deny');
    expect(decideAll(p, ['x.cdn.allowed.test'], 'GET', 80).action).toBe('allow');
  });

  it('no IP-shaped-glob pitfall warning for 10.0.0.*, still one for name globs', () => {
    expect(policyOf([{ action: 'allow', host: '10.0.0.*' }]).warnings).toEqual([]);
    expect(policyOf([{ action: 'allow', host: 'github.*' }]).warnings).toHaveLength(1);
  });
});

describe('ipLiteral / isIpShapedGlob', () => {
  it.each([
    ['10.0.0.1', '10.0.0.1'],
    ['::ffff:10.0.0.1', '10.0.0.1'],
    ['::ffff:a00:1', '10.0.0.1'],
    ['2001:db8:0:0:0:0:0:1', '2001:db8::1'],
    ['::1%lo', '::1'],
    ['::1%x.cdn.allowed.test', '::1'],
    ['example.com', null],
    ['10.0.0.1.nip.io', null],
    ['127.1', null], // not a dotted quad: a name to the policy (the proxy refuses such Hosts earlier)
    ['x%y', null],
    ['', null],
  ])('ipLiteral(%j) = %j', (host, want) => expect(ipLiteral(host)).toBe(want));

  it.each([
    ['10.0.0.*', true],
    ['fd00::*', true],
    ['192.168.[0-9].*', true],
    ['10.0.0.[!5]', true],
    ['*', false],
    ['*.example.com', false],
    ['*.cdn.allowed.test', false],
    ['*.c0', true], // hex and digits only: IP-shaped (and it could only ever match an IP)
    ['*ab*', false],
    ['10.*.example', false],
  ])('isIpShapedGlob(%j) = %j', (pattern, want) => expect(isIpShapedGlob(pattern)).toBe(want));
});

describe('load warning: a method deny before an allow refuses DNS for the name', () => {
  const warnOf = (rules: R[]) => policyOf(rules).warnings.filter((w) => w.includes('DNS lookups have no method'));

  it('warns for the same pattern, naming both rules and the fix', () => {
    const w = warnOf([
      { action: 'deny', host: 'uploads.example.com', method: 'post' },
      { action: 'allow', host: 'uploads.example.com' },
    ]);
    expect(w).toHaveLength(1);
    expect(w[0]).toContain('network[0] (deny "uploads.example.com" method POST)');
    expect(w[0]).toContain('network[1] (allow "uploads.example.com")');
    expect(w[0]).toContain('refuses every DNS lookup of "uploads.example.com"');
    expect(w[0]).toMatch(/before the deny rule/);
  });

  it('warns when the later allow glob covers the denied name, or the deny glob covers the allowed name', () => {
    expect(warnOf([{ action: 'deny', host: 'uploads.example.com', method: 'POST' }, { action: 'allow', host: '*.example.com' }])).toHaveLength(1);
    expect(warnOf([{ action: 'deny', host: '*.example.com', method: 'POST' }, { action: 'allow', host: 'api.example.com', method: 'GET' }])).toHaveLength(1);
    expect(warnOf([{ action: 'deny', host: '*.example.com', method: 'POST' }, { action: 'allow', host: '*.example.com' }])).toHaveLength(1);
  });

  it('one warning per deny rule, in effective order across layers', () => {
    const p = compilePolicy([
      { action: 'deny', host: 'a.example', method: 'DELETE', layer: 'project', index: 0 },
      { action: 'allow', host: 'a.example', layer: 'user', index: 0 },
      { action: 'allow', host: '*.example', layer: 'user', index: 1 },
    ]);
    const w = p.warnings.filter((x) => x.includes('DNS lookups have no method'));
    expect(w).toHaveLength(1);
    expect(w[0]).toContain('project settings: network[0]');
    expect(w[0]).toContain('user settings network[0]');
  });

  it('does not warn when the allow comes first, the deny has no method, or the hosts do not overlap', () => {
    // The recommended shape: the allowed methods first, then the deny, then the rest.
    expect(warnOf([{ action: 'allow', host: 'a.example', method: 'GET' }, { action: 'deny', host: 'a.example', method: 'POST' }, { action: 'allow', host: 'a.example' }])).toEqual([]);
    expect(warnOf([{ action: 'allow', host: '*.example', method: 'GET' }, { action: 'deny', host: 'a.example', method: 'POST' }, { action: 'allow', host: 'a.example' }])).toEqual([]);
    expect(warnOf([{ action: 'allow', host: 'a.example' }, { action: 'deny', host: 'a.example', method: 'POST' }])).toEqual([]);
    expect(warnOf([{ action: 'deny', host: 'a.example' }, { action: 'allow', host: 'a.example' }])).toEqual([]);
    expect(warnOf([{ action: 'deny', host: 'a.example', method: 'POST' }, { action: 'allow', host: 'b.example' }])).toEqual([]);
    expect(warnOf([{ action: 'deny', host: '*.a.example', method: 'POST' }, { action: 'allow', host: '*.b.example' }])).toEqual([]);
  });
});
