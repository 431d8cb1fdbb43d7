/** The decision-log renderer behind `sandcat proxy` and `sandcat status`: log line in, display line out. */
import { describe, expect, it } from 'vitest';
import { compileFilter, isDenied, parseLogLine, renderLine, wantColor } from '../../src/cli/proxy-log.js';

// Lines shaped like the daemon's (src/proxy/http1/handle-request.ts, src/dns/query-handler.ts, src/proxy/tcp/relay.ts).
const REQ_ALLOW = JSON.stringify({ level: 30, time: '2025-01-02T10:11:12.345Z', svc: 'sandcat', conn: 4, client: '10.77.0.2', proto: 'https', method: 'GET', host: 'api.github.com', path: '/repos/x', decision: 'allow', rule: 'user[1]', reason: 'matched-allow', status: 200, substituted: ['GITHUB_TOKEN'], leak: null, bytes: 10, ms: 3, msg: 'request' });
const REQ_DENY = JSON.stringify({ level: 30, time: '2025-01-02T10:11:13.000Z', proto: 'https', method: 'POST', host: 'evil.example', path: '/upload', decision: 'deny', rule: null, reason: 'no-rule-matched', status: 403, substituted: [], leak: null, msg: 'request' });
const REQ_LEAK = JSON.stringify({ level: 40, time: '2025-01-02T10:11:14.000Z', proto: 'https', method: 'POST', host: 'paste.example', path: '/', decision: 'allow', rule: 'project[0]', reason: 'secret-leak', status: 403, substituted: [], leak: 'GITHUB_TOKEN', msg: 'request' });
const DNS_DENY = JSON.stringify({ level: 30, time: '2025-01-02T10:11:15.000Z', client: '10.77.0.2', name: 'exfil.attacker.example', type: 'A', decision: 'deny', rule: { layer: 'project', index: 2 }, rcode: 'REFUSED', msg: 'dns lookup' });
const TCP_ALLOW = JSON.stringify({ level: 30, time: '2025-01-02T10:11:16.000Z', proto: 'ssh', host: 'github.com', port: 22, decision: 'allow', rule: 'user[0]', msg: 'connection closed' });
const START = JSON.stringify({ level: 30, time: '2025-01-02T10:11:00.000Z', msg: 'settings loaded', rules: 9 });

const plain = { color: false };
const all = compileFilter({});

describe('parseLogLine', () => {
  it('strips the compose v1 and v2 prefixes before parsing', () => {
    for (const prefix of ['proxy_1  | ', 'demo_devcontainer-proxy-1  | ']) {
      const p = parseLogLine(prefix + REQ_DENY);
      expect(p && 'event' in p && p.event.host).toBe('evil.example');
    }
  });
  it('keeps non-JSON lines as text and drops blank ones', () => {
    expect(parseLogLine('proxy_1  | node: warning')).toEqual({ text: 'node: warning' });
    expect(parseLogLine('   ')).toBeNull();
    expect(parseLogLine('{not json')).toEqual({ text: '{not json' });
  });
  it('reads a DNS rule given as {layer, index}', () => {
    const p = parseLogLine(DNS_DENY);
    expect(p && 'event' in p && [p.event.kind, p.event.rule, p.event.host]).toEqual(['dns', 'project[2]', 'exfil.attacker.example']);
  });
  it('counts a blocked secret as denied even though the rule allowed the host', () => {
    const p = parseLogLine(REQ_LEAK)!;
    expect('event' in p && isDenied(p.event)).toBe(true);
  });
});

describe('renderLine', () => {
  it('renders each kind of decision on one readable line', () => {
    expect(renderLine(REQ_ALLOW, all, plain)).toBe('10:11:12 ALLOW GET    api.github.com/repos/x 200 rule user[1] secrets GITHUB_TOKEN');
    expect(renderLine(REQ_DENY, all, plain)).toBe('10:11:13 DENY  POST   evil.example/upload 403 no rule matched (default deny)');
    expect(renderLine(REQ_DENY.replace('evil.example', '1.2.3.4'), all, plain)).toContain('403 no rule names this IP address');
    expect(renderLine(REQ_LEAK, all, plain)).toBe('10:11:14 LEAK  POST   paste.example/ 403 rule project[0] secret GITHUB_TOKEN not allowed for this host');
    expect(renderLine(DNS_DENY, all, plain)).toBe('10:11:15 DENY  DNS    exfil.attacker.example REFUSED A rule project[2]');
    expect(renderLine(TCP_ALLOW, all, plain)).toBe('10:11:16 ALLOW TCP    github.com port 22 rule user[0]');
    expect(renderLine(START, all, plain)).toBe('10:11:00 info  settings loaded');
  });
  it('describes rules when given their text', () => {
    const line = renderLine(DNS_DENY, all, { color: false, describeRule: (t) => (t === 'project[2]' ? 'deny *.attacker.example' : undefined) });
    expect(line).toContain('rule project[2] deny *.attacker.example');
  });
  it('colours verdicts with ANSI codes only when asked', () => {
    expect(renderLine(REQ_DENY, all, { color: true })).toContain('\x1b[31mDENY \x1b[0m');
    expect(renderLine(REQ_ALLOW, all, { color: true })).toContain('\x1b[32mALLOW\x1b[0m');
    expect(renderLine(REQ_DENY, all, plain)).not.toContain('\x1b[');
  });
});

describe('filters', () => {
  const lines = [START, REQ_ALLOW, REQ_DENY, REQ_LEAK, DNS_DENY, TCP_ALLOW, 'plain text'];
  const shown = (f: Parameters<typeof compileFilter>[0]) => lines.map((l) => renderLine(l, compileFilter(f), plain)).filter((l) => l !== null);
  it('--denied keeps denials and blocked secrets, nothing else', () => {
    expect(shown({ deniedOnly: true }).map((l) => l!.split(' ')[1])).toEqual(['DENY', 'LEAK', 'DENY']);
  });
  it('--host matches with the rules\' fnmatch globs (* crosses dots, case-insensitive)', () => {
    expect(shown({ host: '*.GitHub.com' }).length).toBe(1);
    expect(shown({ host: '*github.com' }).length).toBe(2);
    expect(shown({ host: '*.example', deniedOnly: true }).length).toBe(3);
  });
  it('without filters every line is shown, text included', () => {
    expect(shown({}).length).toBe(lines.length);
  });
});

describe('wantColor', () => {
  it('respects NO_COLOR and FORCE_COLOR, else follows the terminal', () => {
    expect(wantColor({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(wantColor({ isTTY: false }, { FORCE_COLOR: '1' })).toBe(true);
    expect(wantColor({ isTTY: true }, {})).toBe(true);
    expect(wantColor({ isTTY: false }, {})).toBe(false);
  });
});
