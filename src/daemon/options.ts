/** `sandcat daemon` flags (each with a SANDCAT_* twin and a container default) → DaemonOptions. */
import { parseFlags, type FlagSpec } from '../cli/args.js';
import { SandcatError } from '../errors.js';
import { parseCidr } from '../wg/tunnel-addresses.js';

export const DAEMON_FLAGS = {
  'user-settings': { type: 'string', env: 'SANDCAT_USER_SETTINGS', default: '/config/settings.json', help: 'user settings file (~/.config/sandcat/settings.json on the host)' },
  'project-dir': { type: 'string', env: 'SANDCAT_PROJECT_DIR', default: '/config/project', help: "the project's .sandcat directory (settings.json, settings.local.json)" },
  'state-dir': { type: 'string', env: 'SANDCAT_STATE_DIR', default: '/var/lib/sandcat', help: 'private directory: CA key, leaf key, WireGuard keys (proxy only)' },
  'wg-dir': { type: 'string', env: 'SANDCAT_WG_DIR', default: '/sandcat/wg', help: "where the client's WireGuard config is written (shared with wg-client)" },
  'public-dir': { type: 'string', env: 'SANDCAT_PUBLIC_DIR', default: '/sandcat/public', help: 'ca.pem, sandcat.env and the ready marker (agents read it)' },
  'wg-interface': { type: 'string', env: 'SANDCAT_WG_INTERFACE', default: 'sandcat0', help: 'WireGuard interface name (at most 15 characters)' },
  'wg-port': { type: 'string', env: 'SANDCAT_WG_PORT', default: '51820', help: 'WireGuard UDP listen port' },
  'wg-endpoint': { type: 'string', env: 'SANDCAT_WG_ENDPOINT', default: 'proxy:51820', help: 'host:port written into the client config as its Endpoint' },
  'proxy-port': { type: 'string', env: 'SANDCAT_PROXY_PORT', default: '3129', help: 'port of the intercepting proxy (tunnel TCP is redirected here)' },
  'dns-port': { type: 'string', env: 'SANDCAT_DNS_PORT', default: '5353', help: 'port of the DNS server (tunnel port 53 is redirected here)' },
  'tunnel-ipv4': { type: 'string', env: 'SANDCAT_TUNNEL_IPV4', default: '10.77.0.1/24', help: "the server's IPv4 tunnel address; the client gets the next one" },
  'tunnel-ipv6': { type: 'string', env: 'SANDCAT_TUNNEL_IPV6', default: 'fd00:77::1/64', help: "the server's IPv6 tunnel address; the client gets the next one" },
  'idle-timeout': { type: 'string', env: 'SANDCAT_IDLE_TIMEOUT', default: '600', help: 'seconds an idle connection is kept open' },
} satisfies Record<string, FlagSpec>;

export interface DaemonOptions {
  userSettings: string;
  projectDir: string;
  stateDir: string;
  wgDir: string;
  publicDir: string;
  wgInterface: string;
  wgPort: number;
  wgEndpoint: string;
  proxyPort: number;
  dnsPort: number;
  tunnel4: string;
  tunnel6: string;
  idleTimeoutMs: number;
}

function port(flag: string, value: string | undefined): number {
  const n = Number(value);
  if (!/^\d+$/.test(value ?? '') || n < 1 || n > 65535) throw new SandcatError('E_USAGE', `--${flag} must be a port number from 1 to 65535, got "${value}"`);
  return n;
}

export function parseDaemonOptions(args: string[], env: NodeJS.ProcessEnv = process.env): DaemonOptions {
  const { values, positionals } = parseFlags(DAEMON_FLAGS, args, env);
  if (positionals.length) throw new SandcatError('E_USAGE', `unexpected argument "${positionals[0]}"`, { hint: 'run sandcat daemon --help' });
  const iface = values['wg-interface']!;
  if (!/^[A-Za-z0-9_.=+-]{1,15}$/.test(iface)) throw new SandcatError('E_USAGE', `--wg-interface "${iface}" is not a valid interface name`, { hint: 'use 1-15 letters, digits, "-" or "_"' });
  const endpoint = values['wg-endpoint']!;
  if (!/^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):\d{1,5}$/.test(endpoint)) {
    throw new SandcatError('E_USAGE', `--wg-endpoint must be host:port or [v6]:port, got "${endpoint}"`);
  }
  const idle = Number(values['idle-timeout']);
  if (!Number.isFinite(idle) || idle <= 0) throw new SandcatError('E_USAGE', `--idle-timeout must be a positive number of seconds, got "${values['idle-timeout']}"`);
  const tunnel4 = values['tunnel-ipv4']!;
  const tunnel6 = values['tunnel-ipv6']!;
  if (parseCidr(tunnel4, '--tunnel-ipv4').family !== 4) throw new SandcatError('E_USAGE', `--tunnel-ipv4 must be an IPv4 address, got "${tunnel4}"`);
  if (parseCidr(tunnel6, '--tunnel-ipv6').family !== 6) throw new SandcatError('E_USAGE', `--tunnel-ipv6 must be an IPv6 address, got "${tunnel6}"`);
  const opts: DaemonOptions = {
    userSettings: values['user-settings']!,
    projectDir: values['project-dir']!,
    stateDir: values['state-dir']!,
    wgDir: values['wg-dir']!,
    publicDir: values['public-dir']!,
    wgInterface: iface,
    wgPort: port('wg-port', values['wg-port']),
    wgEndpoint: endpoint,
    proxyPort: port('proxy-port', values['proxy-port']),
    dnsPort: port('dns-port', values['dns-port']),
    tunnel4,
    tunnel6,
    idleTimeoutMs: idle * 1000,
  };
  if (opts.proxyPort === opts.dnsPort) throw new SandcatError('E_USAGE', '--proxy-port and --dns-port must differ');
  return opts;
}
