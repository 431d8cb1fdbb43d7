import { describe, expect, it } from 'vitest';
import { decideDnsMode } from '../../../src/wg/client/dns-mode.js';
import { killSwitchRuleset, proxySetsUpdate, type KillSwitchPlan } from '../../../src/wg/client/kill-switch.js';
import { parseNetFacts } from '../../../src/wg/client/net-facts.js';
import { routingCleanup, routingRules, tunnelRoutes } from '../../../src/wg/client/routing.js';

describe('parseNetFacts', () => {
  it('finds the compose subnet and the Docker gateway, leaving link-local IPv6 and the tunnel out', () => {
    const v4 = JSON.stringify([
      { dst: 'default', gateway: '172.20.0.1', dev: 'eth0', flags: [] },
      { dst: '172.20.0.0/16', dev: 'eth0', protocol: 'kernel', scope: 'link', prefsrc: '172.20.0.3', flags: [] },
      { dst: '10.77.0.0/24', dev: 'sandcat0', protocol: 'kernel', scope: 'link', flags: [] },
      { dst: '192.168.5.0/24', gateway: '172.20.0.9', dev: 'eth0', flags: [] },
    ]);
    const v6 = JSON.stringify([
      { dst: 'fd12:3::/64', dev: 'eth0', protocol: 'kernel', metric: 256, flags: [] },
      { dst: 'fe80::/64', dev: 'eth0', protocol: 'kernel', metric: 256, flags: [] },
      { dst: 'default', gateway: 'fd12:3::1', dev: 'eth0', metric: 1024, flags: [] },
    ]);
    expect(parseNetFacts(v4, v6, ['lo', 'sandcat0'])).toEqual({
      localNets4: [{ cidr: '172.20.0.0/16', dev: 'eth0' }],
      localNets6: [{ cidr: 'fd12:3::/64', dev: 'eth0' }],
      gateways4: ['172.20.0.1'],
      gateways6: ['fd12:3::1'],
    });
  });
  it('copes with a namespace without IPv6 routes', () => {
    expect(parseNetFacts('[]', '').localNets6).toEqual([]);
  });
});

const PLAN: KillSwitchPlan = {
  table: 'sandcat_client',
  tunnelIface: 'sandcat0',
  fwmark: 51820,
  endpointPort: 51820,
  proxy4: ['172.20.0.2'],
  proxy6: [],
  gateways4: ['172.20.0.1'],
  gateways6: [],
  localNets4: ['172.20.0.0/16'],
  localNets6: [],
  blockDockerDns: false,
  clampMss: true,
};

describe('killSwitchRuleset', () => {
  const text = killSwitchRuleset(PLAN);
  const output = text.slice(text.indexOf('chain output'), text.indexOf('chain forward'));
  const lines = output.split('\n').map((l) => l.trim());
  const at = (needle: string): number => lines.findIndex((l) => l.includes(needle));

  it('drops by default, output and forward', () => {
    expect(output).toContain('policy drop;');
    expect(text).toMatch(/chain forward \{\s+type filter hook forward priority filter; policy drop;\s+\}/);
    expect(lines.filter(Boolean).at(-2)).toBe('counter reject with icmpx type admin-prohibited');
  });
  it("lets WireGuard's marked UDP reach the proxy before refusing the proxy's address", () => {
    expect(at('meta mark 51820 ip daddr @proxy4 udp dport 51820 accept')).toBeGreaterThan(-1);
    expect(at('meta mark 51820 ip daddr @proxy4')).toBeLessThan(at('ip daddr @proxy4 counter reject'));
  });
  it('refuses the gateway and the proxy before accepting the compose subnet', () => {
    expect(at('ip daddr { 172.20.0.1 } counter reject')).toBeGreaterThan(-1);
    expect(at('ip daddr { 172.20.0.1 }')).toBeLessThan(at('ip daddr { 172.20.0.0/16 } accept'));
    expect(at('ip daddr @proxy4 counter reject')).toBeLessThan(at('ip daddr { 172.20.0.0/16 } accept'));
  });
  it('accepts loopback and the tunnel', () => {
    expect(at('oifname "lo" accept')).toBeGreaterThan(-1);
    expect(at('oifname "sandcat0" accept')).toBeGreaterThan(-1);
  });
  it('puts the proxy addresses in sets and clamps MSS on the tunnel', () => {
    expect(text).toContain('set proxy4 { type ipv4_addr; elements = { 172.20.0.2 }; }');
    expect(text).toContain('set proxy6 { type ipv6_addr; }');
    expect(text).toContain('oifname "sandcat0" tcp flags syn / syn,rst tcp option maxseg size set rt mtu');
  });
  it("refuses Docker's resolver first when asked to", () => {
    const blocked = killSwitchRuleset({ ...PLAN, blockDockerDns: true });
    expect(blocked.indexOf('ip daddr 127.0.0.11 counter reject')).toBeGreaterThan(-1);
    expect(blocked.indexOf('ip daddr 127.0.0.11')).toBeLessThan(blocked.indexOf('oifname "lo" accept'));
    expect(text).not.toContain('127.0.0.11');
  });
  it('allows neighbour discovery only when there is an IPv6 compose subnet', () => {
    expect(text).not.toContain('nd-neighbor-solicit');
    expect(killSwitchRuleset({ ...PLAN, localNets6: ['fd12:3::/64'] })).toContain('nd-neighbor-solicit');
  });
  it('is idempotent: it replaces an existing table', () => {
    expect(text.startsWith('add table inet sandcat_client\ndelete table inet sandcat_client\ntable inet sandcat_client {')).toBe(true);
  });
  it('updates the proxy sets in one transaction', () => {
    expect(proxySetsUpdate('t', ['1.2.3.4'], [])).toBe('flush set inet t proxy4\nflush set inet t proxy6\nadd element inet t proxy4 { 1.2.3.4 }\n');
  });
});

describe('routing plan', () => {
  const p = { tunnelIface: 'sandcat0', table: 51820, fwmark: 51820, ipv6: true };
  it('sends everything unmarked to the tunnel table, keeping main for specific routes', () => {
    expect(routingRules(p)).toEqual([
      ['-4', 'rule', 'add', 'not', 'fwmark', '51820', 'table', '51820', 'pref', '32000'],
      ['-4', 'rule', 'add', 'table', 'main', 'suppress_prefixlength', '0', 'pref', '31999'],
      ['-6', 'rule', 'add', 'not', 'fwmark', '51820', 'table', '51820', 'pref', '32000'],
      ['-6', 'rule', 'add', 'table', 'main', 'suppress_prefixlength', '0', 'pref', '31999'],
    ]);
  });
  it('has an unreachable fallback in the tunnel table', () => {
    expect(tunnelRoutes(p)).toContainEqual(['-4', 'route', 'replace', 'unreachable', 'default', 'metric', '4096', 'table', '51820']);
    expect(tunnelRoutes(p)).toContainEqual(['-6', 'route', 'replace', 'default', 'dev', 'sandcat0', 'table', '51820']);
  });
  it('skips IPv6 when the namespace has it disabled', () => {
    const v4only = { ...p, ipv6: false };
    expect([...routingRules(v4only), ...tunnelRoutes(v4only), ...routingCleanup(v4only)].every((c) => c[0] === '-4')).toBe(true);
  });
});

describe('decideDnsMode', () => {
  const docker = 'nameserver 127.0.0.11\noptions ndots:0\n';
  it("keeps Docker's resolver in a compose network", () => {
    expect(decideDnsMode('auto', docker, ['10.77.0.1'])).toMatchObject({ mode: 'docker', blockDockerDns: false });
    expect(decideDnsMode('auto', docker, ['10.77.0.1']).resolvConf).toBeUndefined();
  });
  it('switches to the tunnel when Docker forwards from the host namespace', () => {
    const newer = docker + "\n# Based on host file: '/etc/resolv.conf' (internal resolver)\n# ExtServers: [host(127.0.0.53)]\n";
    const d = decideDnsMode('auto', newer, ['10.77.0.1', 'fd00:77::1']);
    expect(d).toMatchObject({ mode: 'tunnel', blockDockerDns: true });
    expect(d.resolvConf).toContain('nameserver 10.77.0.1\nnameserver fd00:77::1\n');
    expect(d.resolvConf).not.toContain('127.0.0.11');
    expect(decideDnsMode('docker', newer, ['10.77.0.1']).mode).toBe('tunnel');
  });
  it('does not treat a non-loopback ExtServers entry as host forwarding', () => {
    expect(decideDnsMode('auto', docker + '# ExtServers: [10.77.0.1]\n', ['10.77.0.1']).mode).toBe('docker');
  });
  it('uses the tunnel outside Docker and when asked', () => {
    expect(decideDnsMode('auto', 'nameserver 1.1.1.1\n', ['10.77.0.1'], ['corp.example'])).toMatchObject({ mode: 'tunnel' });
    expect(decideDnsMode('auto', 'nameserver 1.1.1.1\n', ['10.77.0.1'], ['corp.example']).resolvConf).toContain('search corp.example\n');
    expect(decideDnsMode('tunnel', docker, ['10.77.0.1']).mode).toBe('tunnel');
  });
});
