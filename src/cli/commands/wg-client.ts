/**
 * `sandcat wg-client`: make the current network namespace a sandcat client and keep it so.
 * Runs in the wg-client container (CAP_NET_ADMIN, /dev/net/tun); agents join its namespace.
 */
import { existsSync } from 'node:fs';
import { flagHelp, parseFlags, type FlagSpec } from '../args.js';
import { formatError, SandcatError } from '../../errors.js';
import { createLogger } from '../../log.js';
import { WgClient } from '../../wg/client/client.js';
import type { DnsModeSetting } from '../../wg/client/dns-mode.js';
import { tryCommand } from '../../wg/run-command.js';

const FLAGS = {
  config: { type: 'string', env: 'SANDCAT_WG_CONFIG', default: '/sandcat/wg/client.conf', help: 'wg-quick client config written by the daemon' },
  'wg-interface': { type: 'string', env: 'SANDCAT_WG_INTERFACE', default: 'sandcat0', help: 'tunnel interface name (at most 15 characters)' },
  wait: { type: 'string', env: 'SANDCAT_WG_WAIT', default: '120', help: 'seconds to wait for the config to appear' },
  'dns-mode': { type: 'string', env: 'SANDCAT_DNS_MODE', default: 'auto', help: "auto | docker (keep Docker's resolver, which forwards through the tunnel) | tunnel (resolv.conf → tunnel DNS only)" },
  'ready-file': { type: 'string', env: 'SANDCAT_WG_READY_FILE', default: '/run/sandcat-wg-ready', help: 'marker written when the namespace is set up (healthcheck)' },
  'state-dir': { type: 'string', env: 'SANDCAT_WG_CLIENT_STATE_DIR', default: '/run/sandcat-wg-client', help: 'private directory for the key file' },
  table: { type: 'string', env: 'SANDCAT_WG_TABLE', default: '51820', help: 'routing table for the tunnel' },
  fwmark: { type: 'string', env: 'SANDCAT_WG_FWMARK', default: '51820', help: "fwmark on WireGuard's own packets" },
  'nft-table': { type: 'string', env: 'SANDCAT_WG_NFT_TABLE', default: 'sandcat_client', help: 'name of the kill-switch nft table (inet family)' },
  'resolv-conf': { type: 'string', env: 'SANDCAT_RESOLV_CONF', default: '/etc/resolv.conf', help: 'resolver file to keep or rewrite' },
  check: { type: 'boolean', help: 'healthcheck: exit 0 if set up (ready marker present and the interface exists), else 1' },
} satisfies Record<string, FlagSpec>;

export const help = `usage: sandcat wg-client [options]

Set up this network namespace as a sandcat client, then supervise it:
  - a kill switch (nftables, IPv4 and IPv6): traffic leaves only through the tunnel, loopback,
    WireGuard's own UDP to the proxy, and the compose network minus the Docker gateway and the proxy;
  - the WireGuard interface (kernel, else wireguard-go), MTU from the config, MSS clamping;
  - policy routing: everything but WireGuard's own packets and the compose network goes to the tunnel;
  - DNS through the proxy (see docs/containers.md, "DNS");
  - a ready marker for the healthcheck.
It fails closed: if setup fails or the tunnel dies, the kill switch stays and nothing leaks.

options:
${flagHelp(FLAGS)}
`;

function positiveInt(name: string, value: string | undefined, max = 2 ** 31 - 1): number {
  const n = Number(value);
  if (!/^\d+$/.test(value ?? '') || n < 1 || n > max) throw new SandcatError('E_USAGE', `--${name} must be a whole number from 1 to ${max}, got "${value}"`);
  return n;
}

export async function run(args: string[]): Promise<number> {
  const logger = createLogger().child({ component: 'wg-client' });
  try {
    const { values } = parseFlags(FLAGS, args);
    const iface = values['wg-interface']!;
    if (values.check) {
      return existsSync(values['ready-file']!) && (await tryCommand('ip', ['link', 'show', 'dev', iface])) ? 0 : 1;
    }
    const dnsMode = values['dns-mode'] as DnsModeSetting;
    if (!['auto', 'docker', 'tunnel'].includes(dnsMode)) throw new SandcatError('E_USAGE', `--dns-mode must be auto, docker or tunnel, got "${dnsMode}"`);
    const client = new WgClient({
      configPath: values.config!,
      iface,
      table: positiveInt('table', values.table, 2 ** 32 - 1),
      fwmark: positiveInt('fwmark', values.fwmark, 2 ** 32 - 1),
      nftTable: values['nft-table']!,
      dnsMode,
      readyFile: values['ready-file']!,
      stateDir: values['state-dir']!,
      waitMs: positiveInt('wait', values.wait) * 1000,
      pollMs: 3000,
      resolvConfPath: values['resolv-conf']!,
      logger,
    });
    const stopped = new Promise<number>((resolve) => {
      const stop = (signal: string): void => {
        logger.info({ signal }, 'stopping; the kill switch stays in place');
        void client.close().then(() => resolve(0));
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
    try {
      await client.start();
    } catch (err) {
      await client.close();
      throw err;
    }
    logger.info({ iface, endpoint: client.endpoint }, 'sandcat client namespace is ready');
    // Keep the event loop alive while supervising; the supervisor's timer is unref'd.
    const keepAlive = setInterval(() => {}, 1 << 30);
    const code = await stopped;
    clearInterval(keepAlive);
    return code;
  } catch (err) {
    logger.error({ code: (err as SandcatError).code }, formatError(err));
    process.stderr.write(`sandcat wg-client: ${formatError(err)}\n`);
    return 1;
  }
}
