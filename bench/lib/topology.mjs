// The three network namespaces the benchmark runs in, and the switches between configurations.
//
//   h7b-agent  10.71.1.2 ──veth── 10.71.1.1  h7b-proxy  10.71.2.1 ──veth── 10.71.2.2  h7b-up
//   h7b-wga    10.72.0.2 ═══WG═══ 10.72.0.1  h7b-wgs      (our own wireguard-go pair: direct, mitmproxy)
//   h7b-wgc    10.77.0.2 ═══WG═══ 10.77.0.1  h7b-sc0      (the daemon's tunnel: sandcat)
//
// The agent reaches the upstream subnet 10.71.2.0/24 through a route that names the path in use
// (veth, or one of the two tunnels). The proxy namespace forwards; one nft table `h7b` there holds
// the redirect of the configuration in use (none for direct). Nothing here leaves the namespaces.
import { mkdirSync, rmSync, writeFileSync, readdirSync, readFileSync, existsSync } from 'node:fs';
import { sh, nsSh, sleep } from './exec.mjs';

export const NS = { agent: 'h7b-agent', proxy: 'h7b-proxy', up: 'h7b-up' };
export const IP = {
  agent: '10.71.1.2',
  proxyA: '10.71.1.1',
  proxyU: '10.71.2.1',
  up: '10.71.2.2',
  upNet: '10.71.2.0/24',
  wgAgent: '10.72.0.2',
  wgServer: '10.72.0.1',
};
export const IFACE = {
  agentVeth: 'h7b-a',
  proxyA: 'h7b-pa',
  proxyU: 'h7b-pu',
  upVeth: 'h7b-u',
  wgAgent: 'h7b-wga',
  wgServer: 'h7b-wgs',
  scServer: 'h7b-sc0',
  scAgent: 'h7b-wgc',
};
export const WG_PORT = 51830; // our own server, direct/mitmproxy
export const SC_WG_PORT = 51821; // the daemon's
import { HOSTS } from "./hosts.mjs";
export { HOSTS };

const NETNS_ETC = '/etc/netns';

function ensureAbsentNamespaces() {
  const existing = sh('ip', ['netns', 'list']).split('\n').map((l) => l.split(' ')[0]);
  for (const ns of Object.values(NS)) if (existing.includes(ns)) sh('ip', ['netns', 'del', ns], { allowFail: true });
}

export function createTopology() {
  ensureAbsentNamespaces();
  for (const ns of Object.values(NS)) {
    sh('ip', ['netns', 'add', ns]);
    nsSh(ns, 'ip', ['link', 'set', 'lo', 'up']);
  }
  sh('ip', ['link', 'add', IFACE.agentVeth, 'netns', NS.agent, 'type', 'veth', 'peer', 'name', IFACE.proxyA, 'netns', NS.proxy]);
  sh('ip', ['link', 'add', IFACE.proxyU, 'netns', NS.proxy, 'type', 'veth', 'peer', 'name', IFACE.upVeth, 'netns', NS.up]);
  const addr = (ns, dev, cidr) => {
    nsSh(ns, 'ip', ['addr', 'add', cidr, 'dev', dev]);
    nsSh(ns, 'ip', ['link', 'set', dev, 'up']);
  };
  addr(NS.agent, IFACE.agentVeth, `${IP.agent}/24`);
  addr(NS.proxy, IFACE.proxyA, `${IP.proxyA}/24`);
  addr(NS.proxy, IFACE.proxyU, `${IP.proxyU}/24`);
  addr(NS.up, IFACE.upVeth, `${IP.up}/24`);
  nsSh(NS.agent, 'ip', ['route', 'add', IP.upNet, 'via', IP.proxyA]);
  nsSh(NS.up, 'ip', ['route', 'add', 'default', 'via', IP.proxyU]);
  for (const k of ['net.ipv4.ip_forward=1', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0', 'net.ipv6.conf.all.forwarding=1']) {
    nsSh(NS.proxy, 'sysctl', ['-qw', k]);
  }
  // Many idle connections: widen the agent's ephemeral ports.
  nsSh(NS.agent, 'sysctl', ['-qw', 'net.ipv4.ip_local_port_range=10000 65000']);
  nsSh(NS.proxy, 'sysctl', ['-qw', 'net.ipv4.ip_local_port_range=10000 65000']);

  // Name resolution for the agent (wrk) and the proxy namespace: every bench name is the upstream.
  mkdirSync(`${NETNS_ETC}/${NS.agent}`, { recursive: true });
  mkdirSync(`${NETNS_ETC}/${NS.proxy}`, { recursive: true });
  const hosts = `127.0.0.1 localhost\n${HOSTS.map((h) => `${IP.up} ${h}`).join('\n')}\n`;
  writeFileSync(`${NETNS_ETC}/${NS.agent}/hosts`, hosts);
  writeFileSync(`${NETNS_ETC}/${NS.agent}/resolv.conf`, `nameserver ${IP.proxyA}\n`);
  writeFileSync(`${NETNS_ETC}/${NS.proxy}/resolv.conf`, `nameserver ${IP.up}\n`);
  setRedirect('direct');
}

/** A configuration's redirect in the proxy namespace. Sandcat's tunnel side is the daemon's own. */
export function setRedirect(config, { mitmPort = 8081, proxyPort = 3129, dnsPort = 5353 } = {}) {
  const rules = [];
  if (config === 'mitmproxy') {
    rules.push(`iifname { "${IFACE.proxyA}", "${IFACE.wgServer}" } meta l4proto tcp redirect to :${mitmPort}`);
  } else if (config === 'sandcat') {
    // The veth path: what the daemon installs for its WireGuard interface, applied to the veth.
    rules.push(`iifname "${IFACE.proxyA}" udp dport 53 redirect to :${dnsPort}`);
    rules.push(`iifname "${IFACE.proxyA}" tcp dport 53 redirect to :${dnsPort}`);
    rules.push(`iifname "${IFACE.proxyA}" meta l4proto tcp redirect to :${proxyPort}`);
  }
  const ruleset = [
    'table inet h7b',
    'delete table inet h7b',
    'table inet h7b {',
    '  chain prerouting {',
    '    type nat hook prerouting priority dstnat; policy accept;',
    ...rules.map((r) => `    ${r}`),
    '  }',
    '}',
    '',
  ].join('\n');
  nsSh(NS.proxy, 'nft', ['-f', '-'], { input: ruleset });
}

/** Which path the agent's traffic to the upstream subnet takes: 'veth', 'wg' (ours) or 'sc' (daemon). */
export function setPath(path) {
  const args =
    path === 'veth' ? ['via', IP.proxyA, 'dev', IFACE.agentVeth] : ['dev', path === 'wg' ? IFACE.wgAgent : IFACE.scAgent];
  nsSh(NS.agent, 'ip', ['route', 'replace', IP.upNet, ...args]);
  // Drop cached routes/neighbours so the next connection takes the new path.
  nsSh(NS.agent, 'ip', ['route', 'flush', 'cache'], { allowFail: true });
}

/**
 * Deletes the namespaces and the /etc/netns files. wireguard-go processes are children we track
 * (started with -f), or the daemon's own, which the caller stops; stale control sockets go here.
 */
export function destroyTopology() {
  ensureAbsentNamespaces();
  for (const ns of [NS.agent, NS.proxy]) rmSync(`${NETNS_ETC}/${ns}`, { recursive: true, force: true });
  for (const name of [IFACE.wgAgent, IFACE.wgServer, IFACE.scServer, IFACE.scAgent]) {
    rmSync(`/var/run/wireguard/${name}.sock`, { force: true });
  }
}

/** Pids of wireguard-go processes serving one of our interface names (the daemon may leave one). */
export function ourWireguardGoPids() {
  const names = new Set([IFACE.wgAgent, IFACE.wgServer, IFACE.scServer, IFACE.scAgent]);
  const pids = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let argv;
    try {
      argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (argv[0]?.endsWith('wireguard-go') && argv.some((a) => names.has(a))) pids.push(Number(d));
  }
  return pids;
}

export async function killStrayWireguardGo() {
  for (const pid of ourWireguardGoPids()) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {}
  }
  await sleep(200);
  for (const pid of ourWireguardGoPids()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
}

export const netnsEtcExists = (ns) => existsSync(`${NETNS_ETC}/${ns}`);
