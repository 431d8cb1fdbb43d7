/** The demo's log summary: rules named as the daemon's messages name them, a secret leak called a block. */
import { describe, expect, it } from 'vitest';
import { decisionLine, ruleTag } from '../../scripts/demo/decision-line.js';

const plain = { green: (s: string) => s, red: (s: string) => s, yellow: (s: string) => s, cyan: (s: string) => s };

describe('demo decision lines', () => {
  it('numbers rules from 0 with their layer, for requests and lookups alike', () => {
    expect(ruleTag('user[0]')).toBe('user[0]');
    expect(ruleTag({ layer: 'user', index: 1 })).toBe('user[1]');
    expect(ruleTag(null)).toBe('none (default deny)');
    expect(decisionLine({ msg: 'dns lookup', name: 'denied.test', type: 'A', decision: 'deny', rule: null }, plain)).toMatch(/^deny {4}dns denied\.test A +rule none \(default deny\)$/);
  });
  it('a request blocked for a secret reads as blocked, not allow', () => {
    const line = decisionLine({ msg: 'request', method: 'GET', host: 'other.allowed.test', path: '/', decision: 'allow', rule: 'user[2]', status: 403, leak: 'API_TOKEN' }, plain);
    expect(line).toMatch(/^blocked GET other\.allowed\.test\/ +rule user\[2\] → 403 \(secret leak: API_TOKEN may not be sent to this host\)$/);
    expect(line).not.toMatch(/^allow/);
  });
  it('an allowed request with a substitution names the secret', () => {
    expect(decisionLine({ msg: 'request', method: 'GET', host: 'api.allowed.test', path: '/echo', decision: 'allow', rule: 'user[0]', status: 200, substituted: ['API_TOKEN'] }, plain)).toMatch(/^allow {3}GET api\.allowed\.test\/echo +rule user\[0\] → 200 substituted=API_TOKEN$/);
  });
});
