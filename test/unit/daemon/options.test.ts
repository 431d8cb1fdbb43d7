import { describe, expect, it } from 'vitest';
import { parseDaemonOptions } from '../../../src/daemon/options.js';

describe('daemon options', () => {
  it('defaults fit the container layout', () => {
    expect(parseDaemonOptions([], {})).toEqual({
      userSettings: '/config/settings.json',
      projectDir: '/config/project',
      stateDir: '/var/lib/sandcat',
      wgDir: '/sandcat/wg',
      publicDir: '/sandcat/public',
      wgInterface: 'sandcat0',
      wgPort: 51820,
      wgEndpoint: 'proxy:51820',
      proxyPort: 3129,
      dnsPort: 5353,
      tunnel4: '10.77.0.1/24',
      tunnel6: 'fd00:77::1/64',
      idleTimeoutMs: 600_000,
    });
  });

  it('env twins apply, flags win', () => {
    const o = parseDaemonOptions(['--wg-port', '4000'], { SANDCAT_WG_PORT: '3000', SANDCAT_WG_INTERFACE: 'wgx', SANDCAT_WG_ENDPOINT: '[fd00::1]:4000' });
    expect(o.wgPort).toBe(4000);
    expect(o.wgInterface).toBe('wgx');
    expect(o.wgEndpoint).toBe('[fd00::1]:4000');
  });

  it.each([
    [['--wg-port', '0'], /--wg-port must be a port/],
    [['--proxy-port', '5353'], /must differ/],
    [['--wg-interface', 'much-too-long-name'], /not a valid interface name/],
    [['--wg-endpoint', 'proxy'], /host:port/],
    [['--tunnel-ipv4', 'fd00::1/64'], /must be an IPv4/],
    [['--idle-timeout', 'soon'], /positive number/],
    [['--bogus'], /unknown option --bogus/],
  ])('%j is refused', (args, msg) => expect(() => parseDaemonOptions(args, {})).toThrow(msg));
});
