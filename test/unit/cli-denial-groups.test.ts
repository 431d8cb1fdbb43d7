/** `sandcat status`'s "last N denials": one denied curl's four DNS refusals are one line with a count. */
import { describe, expect, it } from 'vitest';
import { lastDenials } from '../../src/cli/commands/status.js';
import { formatEvent } from '../../src/cli/proxy-log.js';

// t is "mm:ss.mmm" after 19:00.
const dns = (t: string, type: string, name = 'example.com') =>
  `proxy_1  | ${JSON.stringify({ level: 30, time: `2025-01-02T19:${t}Z`, client: '10.77.0.2', name, type, decision: 'deny', rule: null, rcode: 'REFUSED', msg: 'dns lookup' })}`;
const http = (t: string) => `proxy_1  | ${JSON.stringify({ level: 30, time: `2025-01-02T19:${t}Z`, proto: 'https', method: 'POST', host: 'api.example.org', path: '/x', decision: 'deny', rule: null, reason: 'no-rule-matched', status: 403, msg: 'request' })}`;
const allow = (t: string) => `proxy_1  | ${JSON.stringify({ level: 30, time: `2025-01-02T19:${t}Z`, name: 'registry.npmjs.org', type: 'A', decision: 'allow', rule: { layer: 'local', index: 0 }, rcode: 'NOERROR', msg: 'dns lookup' })}`;

describe('lastDenials folds repeats', () => {
  const log = [dns('41:55.001', 'A'), dns('41:55.002', 'AAAA'), allow('41:55.100'), dns('41:55.400', 'A'), dns('41:55.401', 'AAAA'), http('41:56.000'), dns('41:58.000', 'A', 'other.example')].join('\n');

  it('A and AAAA, twice, within the window: one line, ×4, both types named', () => {
    const groups = lastDenials(log, 10);
    expect(groups.map((g) => [g.event.host, g.count])).toEqual([
      ['example.com', 4],
      ['api.example.org', 1],
      ['other.example', 1],
    ]);
    expect(formatEvent(groups[0]!.event, { color: false })).toBe('19:41:55 DENY  DNS    example.com REFUSED A AAAA no rule matched (default deny)');
  });

  it('the same denial after the window is a new line; N counts lines, not events', () => {
    const later = `${log}\n${dns('42:30.000', 'A')}`;
    const groups = lastDenials(later, 10);
    expect(groups.map((g) => [g.event.host, g.count])).toEqual([
      ['example.com', 4],
      ['api.example.org', 1],
      ['other.example', 1],
      ['example.com', 1],
    ]);
    expect(lastDenials(later, 2).map((g) => g.event.host)).toEqual(['other.example', 'example.com']);
  });
});
