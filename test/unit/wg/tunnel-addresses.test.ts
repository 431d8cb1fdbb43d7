import { describe, expect, it } from 'vitest';
import { formatCidr, nextAddress, parseCidr } from '../../../src/wg/tunnel-addresses.js';
import { renderClientConfig } from '../../../src/wg/client-config.js';
import { wgSetArgs } from '../../../src/wg/link.js';

describe('tunnel addresses', () => {
  it.each([
    ['10.77.0.1/24', '10.77.0.2/24'],
    ['192.168.1.254/16', '192.168.1.255/16'],
    ['fd00:77::1/64', 'fd00:77::2/64'],
    ['fd00:77::ffff/64', 'fd00:77::1:0/64'],
    ['2001:db8:0:0:1::1/64', '2001:db8::1:0:0:2/64'],
  ])('%s → client %s', (server, client) => expect(formatCidr(nextAddress(parseCidr(server)))).toBe(client));

  it.each(['10.77.0.1', '10.77.0.1/33', 'fd00::1/129', 'nonsense/24', '10.77.0.1/0'])('rejects %s', (bad) => {
    expect(() => parseCidr(bad)).toThrow(/not an address with a prefix length/);
  });

  it('refuses a server address that leaves no room for the client', () => {
    expect(() => nextAddress(parseCidr('10.77.0.254/24'))).toThrow(/no room/);
  });
});

describe('client.conf', () => {
  it('is wg-quick with v4+v6 addresses, tunnel DNS, MTU and a full-tunnel peer', () => {
    const text = renderClientConfig({
      clientPrivateKey: 'PRIV',
      serverPublicKey: 'PUB',
      endpoint: 'proxy:51820',
      clientAddresses: ['10.77.0.2/24', 'fd00:77::2/64'],
      dns: ['10.77.0.1', 'fd00:77::1'],
      mtu: 1420,
    });
    expect(text).toContain('[Interface]\nPrivateKey = PRIV\nAddress = 10.77.0.2/24, fd00:77::2/64\nDNS = 10.77.0.1, fd00:77::1\nMTU = 1420\n');
    expect(text).toContain('[Peer]\nPublicKey = PUB\nEndpoint = proxy:51820\nAllowedIPs = 0.0.0.0/0, ::/0\nPersistentKeepalive = 25\n');
  });
});

describe('wg set arguments', () => {
  it('passes the key by file and every peer field', () => {
    expect(
      wgSetArgs({ name: 'wg0', privateKeyFile: '/k', listenPort: 51820, peers: [{ publicKey: 'P', allowedIps: ['10.77.0.2/32', 'fd00:77::2/128'], endpoint: '1.2.3.4:5', persistentKeepalive: 25 }] }),
    ).toEqual(['set', 'wg0', 'private-key', '/k', 'listen-port', '51820', 'peer', 'P', 'allowed-ips', '10.77.0.2/32,fd00:77::2/128', 'endpoint', '1.2.3.4:5', 'persistent-keepalive', '25']);
  });
});
