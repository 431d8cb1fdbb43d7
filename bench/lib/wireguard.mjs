// WireGuard for the tunnel variant: wireguard-go interfaces configured with `wg`.
// Our own pair (agent h7b-wga ⇄ proxy h7b-wgs) carries direct and mitmproxy traffic; the agent's
// h7b-wgc is configured from the daemon's client.conf and carries sandcat's.
import { writeFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sh, nsSh, spawnTracked, waitFor, inNs } from './exec.mjs';
import { NS, IP, IFACE, WG_PORT } from './topology.mjs';

const MTU = '1420';

function keypair(dir, name) {
  const priv = sh('wg', ['genkey']).trim();
  const pub = sh('wg', ['pubkey'], { input: priv + '\n' }).trim();
  const file = join(dir, `${name}.key`);
  writeFileSync(file, priv + '\n', { mode: 0o600 });
  return { file, pub };
}

/** Starts wireguard-go in the foreground (so we own and can stop it) and waits for its socket. */
async function startWireguardGo(ns, iface, cpus) {
  const child = spawnTracked(`wireguard-go ${iface}`, [...inNs(ns, cpus), 'wireguard-go', '-f', iface], {
    env: { ...process.env, LOG_LEVEL: 'error' },
  });
  await waitFor(`${iface} control socket`, () => existsSync(`/var/run/wireguard/${iface}.sock`), 10_000);
  return child;
}

export async function startOwnTunnel(dir, { serverCpus, agentCpus }) {
  const server = keypair(dir, 'h7b-wgs');
  const agent = keypair(dir, 'h7b-wga');
  const procs = [await startWireguardGo(NS.proxy, IFACE.wgServer, serverCpus), await startWireguardGo(NS.agent, IFACE.wgAgent, agentCpus)];
  nsSh(NS.proxy, 'wg', ['set', IFACE.wgServer, 'listen-port', String(WG_PORT), 'private-key', server.file, 'peer', agent.pub, 'allowed-ips', `${IP.wgAgent}/32`]);
  nsSh(NS.proxy, 'ip', ['addr', 'add', `${IP.wgServer}/24`, 'dev', IFACE.wgServer]);
  nsSh(NS.proxy, 'ip', ['link', 'set', IFACE.wgServer, 'mtu', MTU, 'up']);
  nsSh(NS.agent, 'wg', ['set', IFACE.wgAgent, 'private-key', agent.file, 'peer', server.pub, 'endpoint', `${IP.proxyA}:${WG_PORT}`, 'allowed-ips', '0.0.0.0/0']);
  nsSh(NS.agent, 'ip', ['addr', 'add', `${IP.wgAgent}/24`, 'dev', IFACE.wgAgent]);
  nsSh(NS.agent, 'ip', ['link', 'set', IFACE.wgAgent, 'mtu', MTU, 'up']);
  return procs;
}

/** Parses the daemon's wg-quick client.conf into what `wg set` and `ip` need. */
export function parseClientConf(text) {
  const out = { addresses: [], mtu: MTU, peer: {} };
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const sec = /^\[(\w+)\]$/.exec(line);
    if (sec) {
      section = sec[1].toLowerCase();
      continue;
    }
    const eq = line.indexOf('=');
    const key = line.slice(0, eq).trim().toLowerCase();
    const value = line.slice(eq + 1).trim();
    if (section === 'interface') {
      if (key === 'privatekey') out.privateKey = value;
      else if (key === 'address') out.addresses.push(...value.split(',').map((a) => a.trim()));
      else if (key === 'mtu') out.mtu = value;
      else if (key === 'dns') out.dns = value.split(',').map((a) => a.trim());
    } else if (section === 'peer') out.peer[key] = value;
  }
  return out;
}

/** Brings up the agent's end of the daemon's tunnel from `<wg-dir>/client.conf`. */
export async function startSandcatClient(dir, clientConfFile, { agentCpus }) {
  const conf = parseClientConf(readFileSync(clientConfFile, 'utf8'));
  const keyFile = join(dir, 'h7b-wgc.key');
  writeFileSync(keyFile, conf.privateKey + '\n', { mode: 0o600 });
  const proc = await startWireguardGo(NS.agent, IFACE.scAgent, agentCpus);
  const args = ['set', IFACE.scAgent, 'private-key', keyFile, 'peer', conf.peer.publickey, 'endpoint', conf.peer.endpoint, 'allowed-ips', '0.0.0.0/0,::/0'];
  if (conf.peer.presharedkey) {
    const psk = join(dir, 'h7b-wgc.psk');
    writeFileSync(psk, conf.peer.presharedkey + '\n', { mode: 0o600 });
    args.push('preshared-key', psk);
  }
  nsSh(NS.agent, 'wg', args);
  for (const a of conf.addresses) nsSh(NS.agent, 'ip', ['addr', 'add', a, 'dev', IFACE.scAgent]);
  nsSh(NS.agent, 'ip', ['link', 'set', IFACE.scAgent, 'mtu', conf.mtu, 'up']);
  const v4 = conf.addresses.find((a) => a.includes('.'));
  return { proc, dns: conf.dns?.find((d) => d.includes('.')) ?? v4?.replace(/\.\d+\/\d+$/, '.1') };
}
