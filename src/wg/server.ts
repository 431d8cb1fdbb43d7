/**
 * The daemon's WireGuard side: keys (kept in the private dir), the interface with one v4 and one
 * v6 tunnel address (nft `redirect` rewrites to the incoming interface's address, so both
 * families need one), one peer (the wg-client container), and `<wg>/client.conf` for that peer.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import { writeFileAtomic } from '../daemon/atomic-write.js';
import { renderClientConfig } from './client-config.js';
import { ensureKeyPair, readPrivateKey } from './keys.js';
import { bringUpWireGuard, type WireGuardLink } from './link.js';
import { formatCidr, nextAddress, parseCidr } from './tunnel-addresses.js';

export const SERVER_KEY_NAME = 'wg-server';
export const CLIENT_KEY_NAME = 'wg-client';
export const CLIENT_CONF_FILE = 'client.conf';
export const TUNNEL_MTU = 1420;

export interface WireGuardServerOptions {
  stateDir: string;
  wgDir: string;
  iface: string;
  listenPort: number;
  /** host:port written into the client config. */
  endpoint: string;
  /** Server tunnel addresses with prefix: 10.77.0.1/24, fd00:77::1/64. */
  tunnel4: string;
  tunnel6: string;
  logger: Logger;
}

export interface WireGuardServer {
  readonly link: WireGuardLink;
  /** The server's tunnel addresses (no prefix): DNS for the client, and the loop-guard list. */
  readonly serverAddresses: string[];
  /** The client's tunnel addresses (no prefix). */
  readonly clientAddresses: string[];
  readonly serverPublicKey: string;
  readonly clientPublicKey: string;
  readonly clientConfFile: string;
}

export async function startWireGuardServer(o: WireGuardServerOptions): Promise<WireGuardServer> {
  const s4 = parseCidr(o.tunnel4, '--tunnel-ipv4');
  const s6 = parseCidr(o.tunnel6, '--tunnel-ipv6');
  const c4 = nextAddress(s4);
  const c6 = nextAddress(s6);
  const server = await ensureKeyPair(o.stateDir, SERVER_KEY_NAME);
  const client = await ensureKeyPair(o.stateDir, CLIENT_KEY_NAME);

  const link = await bringUpWireGuard({
    name: o.iface,
    privateKeyFile: server.privateKeyFile,
    listenPort: o.listenPort,
    peers: [{ publicKey: client.publicKey, allowedIps: [`${c4.address}/32`, `${c6.address}/128`] }],
    addresses: [formatCidr(s4), formatCidr(s6)],
    mtu: TUNNEL_MTU,
    logger: o.logger,
  });

  mkdirSync(o.wgDir, { recursive: true });
  const clientConfFile = join(o.wgDir, CLIENT_CONF_FILE);
  writeFileAtomic(
    clientConfFile,
    renderClientConfig({
      clientPrivateKey: readPrivateKey(client),
      serverPublicKey: server.publicKey,
      endpoint: o.endpoint,
      clientAddresses: [formatCidr(c4), formatCidr(c6)],
      dns: [s4.address, s6.address],
      mtu: TUNNEL_MTU,
    }),
    0o600,
  );
  return {
    link,
    serverAddresses: [s4.address, s6.address],
    clientAddresses: [c4.address, c6.address],
    serverPublicKey: server.publicKey,
    clientPublicKey: client.publicKey,
    clientConfFile,
  };
}
