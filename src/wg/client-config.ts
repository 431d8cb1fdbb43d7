/** The client's wg-quick config (pure rendering; the daemon writes it to `<wg>/client.conf`). */

export interface ClientConfigInput {
  clientPrivateKey: string;
  serverPublicKey: string;
  /** host:port the client dials. */
  endpoint: string;
  /** Client tunnel addresses with prefix, e.g. 10.77.0.2/24 and fd00:77::2/64. */
  clientAddresses: string[];
  /** The server's tunnel addresses (no prefix): the client's DNS servers. */
  dns: string[];
  mtu: number;
  persistentKeepalive?: number;
}

export function renderClientConfig(c: ClientConfigInput): string {
  return [
    '# sandcat WireGuard client (wg-quick format). Written by the daemon; do not edit.',
    '[Interface]',
    `PrivateKey = ${c.clientPrivateKey}`,
    `Address = ${c.clientAddresses.join(', ')}`,
    `DNS = ${c.dns.join(', ')}`,
    `MTU = ${c.mtu}`,
    '',
    '[Peer]',
    `PublicKey = ${c.serverPublicKey}`,
    `Endpoint = ${c.endpoint}`,
    'AllowedIPs = 0.0.0.0/0, ::/0',
    `PersistentKeepalive = ${c.persistentKeepalive ?? 25}`,
    '',
  ].join('\n');
}
