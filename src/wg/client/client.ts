/**
 * `sandcat wg-client` as a long-lived object: set the current network namespace up as a sandcat
 * client (kill switch first, then tunnel, routes, DNS), write the ready marker, then supervise.
 *
 *   const client = new WgClient(options);
 *   await client.start();   // throws (fail closed) if any step fails; the kill switch stays
 *   await client.close();   // stop supervising, remove the marker, stop wireguard-go
 *
 * Order matters for failing closed: the nft table goes in before the interface exists, and nothing
 * here ever removes it. If wireguard-go dies, the tunnel's routes go with it, table T's
 * `unreachable` default answers, and the supervisor brings the tunnel back.
 */
import { lookup } from 'node:dns/promises';
import { mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { Logger } from '../../log.js';
import { SandcatError } from '../../errors.js';
import { bringUpWireGuard, type WireGuardLink } from '../link.js';
import { runCommand, tryCommand } from '../run-command.js';
import { parseClientConfig, splitEndpoint, type ClientConfig } from './config.js';
import { decideDnsMode, type DnsDecision, type DnsModeSetting } from './dns-mode.js';
import { killSwitchRuleset, proxySetsUpdate } from './kill-switch.js';
import { readNetFacts, type NetFacts } from './net-facts.js';
import { routingCleanup, routingRules, tunnelRoutes, type RoutingPlanInput } from './routing.js';
import { waitForClientConfig } from './wait-config.js';

export interface WgClientOptions {
  configPath: string;
  iface: string;
  /** Routing table and fwmark for WireGuard's own packets (wg-quick uses 51820 for both). */
  table: number;
  fwmark: number;
  nftTable: string;
  dnsMode: DnsModeSetting;
  readyFile: string;
  /** Private directory for the key file handed to `wg set … private-key`. */
  stateDir: string;
  waitMs: number;
  pollMs: number;
  resolvConfPath: string;
  logger: Logger;
  prefer?: 'auto' | 'kernel' | 'wireguard-go';
}

interface Endpoint {
  host: string;
  port: number;
  v4: string[];
  v6: string[];
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function ipv6Enabled(): boolean {
  try {
    return readFileSync('/proc/sys/net/ipv6/conf/all/disable_ipv6', 'utf8').trim() === '0';
  } catch {
    return false;
  }
}

async function resolveEndpoint(host: string, port: number): Promise<Endpoint> {
  const fam = isIP(host);
  if (fam === 4) return { host, port, v4: [host], v6: [] };
  if (fam === 6) return { host, port, v4: [], v6: [host] };
  const addrs = await lookup(host, { all: true, verbatim: true });
  const v4 = [...new Set(addrs.filter((a) => a.family === 4).map((a) => a.address))].sort();
  const v6 = [...new Set(addrs.filter((a) => a.family === 6).map((a) => a.address))].sort();
  if (!v4.length && !v6.length) throw new Error(`${host} has no addresses`);
  return { host, port, v4, v6 };
}

function endpointText(ep: Endpoint): string {
  return ep.v4.length ? `${ep.v4[0]}:${ep.port}` : `[${ep.v6[0]}]:${ep.port}`;
}

export class WgClient {
  readonly #o: WgClientOptions;
  readonly #log: Logger;
  #config!: ClientConfig;
  #configStamp = '';
  #endpoint!: Endpoint;
  #dns!: DnsDecision;
  #facts!: NetFacts;
  #ipv6 = false;
  #link: WireGuardLink | null = null;
  #timer: NodeJS.Timeout | null = null;
  #busy = false;
  #closed = false;
  #keyFile: string;

  constructor(options: WgClientOptions) {
    this.#o = options;
    this.#log = options.logger;
    this.#keyFile = join(options.stateDir, 'client.key');
  }

  get endpoint(): Readonly<Endpoint> {
    return this.#endpoint;
  }

  get dnsDecision(): DnsDecision {
    return this.#dns;
  }

  async start(): Promise<void> {
    const o = this.#o;
    this.#removeReady();
    const { config, text } = await waitForClientConfig(o.configPath, o.waitMs, this.#log);
    this.#config = config;
    this.#configStamp = this.#stamp(text);
    const { host, port } = splitEndpoint(config.peer.endpoint);

    // Facts first, before anything here changes the namespace.
    this.#facts = await readNetFacts([o.iface]);
    this.#ipv6 = ipv6Enabled();
    try {
      this.#endpoint = await resolveEndpoint(host, port);
    } catch (err) {
      throw new SandcatError('E_WG_ENDPOINT', `cannot resolve the WireGuard endpoint ${host}: ${(err as Error).message}`, {
        hint: 'the endpoint (daemon --wg-endpoint) must be a name this container resolves, e.g. the compose service name "proxy"',
      });
    }
    let resolvText = '';
    try {
      resolvText = readFileSync(o.resolvConfPath, 'utf8');
    } catch {
      /* no resolv.conf: tunnel mode writes one */
    }
    this.#dns = decideDnsMode(o.dnsMode, resolvText, config.dns, config.dnsSearch);

    // 1. Kill switch, before the tunnel exists.
    await this.#applyKillSwitch();
    this.#log.info(
      { table: o.nftTable, proxy: [...this.#endpoint.v4, ...this.#endpoint.v6], gateways: [...this.#facts.gateways4, ...this.#facts.gateways6], localNets: [...this.#facts.localNets4, ...this.#facts.localNets6].map((n) => n.cidr) },
      'kill switch installed',
    );

    // 2. Tunnel and routes.
    mkdirSync(o.stateDir, { recursive: true, mode: 0o700 });
    writeFileSync(this.#keyFile, config.privateKey + '\n', { mode: 0o600 });
    for (const cmd of routingCleanup(this.#routing())) await tryCommand('ip', cmd);
    await this.#bringUp();
    for (const cmd of routingRules(this.#routing())) await runCommand('ip', cmd);

    // 3. DNS.
    if (this.#dns.resolvConf !== undefined) {
      // Write in place: /etc/resolv.conf is a bind mount Docker shares with containers that join this namespace.
      writeFileSync(o.resolvConfPath, this.#dns.resolvConf);
    }
    this.#log.info({ mode: this.#dns.mode, reason: this.#dns.reason, servers: config.dns }, `DNS: ${this.#dns.mode} mode`);

    this.#writeReady();
    this.#timer = setInterval(() => void this.#tick(), o.pollMs);
    this.#timer.unref();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#removeReady();
    // The kill switch and the rules stay: whatever still runs in this namespace stays cut off.
    await this.#link?.down();
    this.#link = null;
  }

  #routing(): RoutingPlanInput {
    return { tunnelIface: this.#o.iface, table: this.#o.table, fwmark: this.#o.fwmark, ipv6: this.#ipv6 };
  }

  #stamp(text: string): string {
    let mtime = 0;
    try {
      mtime = statSync(this.#o.configPath).mtimeMs;
    } catch {
      /* gone for a moment */
    }
    return `${mtime}:${text}`;
  }

  async #applyKillSwitch(): Promise<void> {
    const f = this.#facts;
    const ruleset = killSwitchRuleset({
      table: this.#o.nftTable,
      tunnelIface: this.#o.iface,
      fwmark: this.#o.fwmark,
      endpointPort: this.#endpoint.port,
      proxy4: this.#endpoint.v4,
      proxy6: this.#endpoint.v6,
      gateways4: f.gateways4,
      gateways6: f.gateways6,
      localNets4: f.localNets4.map((n) => n.cidr),
      localNets6: f.localNets6.map((n) => n.cidr),
      blockDockerDns: this.#dns.blockDockerDns,
      clampMss: true,
    });
    try {
      await runCommand('nft', ['-f', '-'], { input: ruleset });
    } catch (err) {
      throw new SandcatError('E_KILL_SWITCH', `could not install the kill switch: ${(err as Error).message}`, {
        hint: 'wg-client needs CAP_NET_ADMIN (compose: cap_add: [NET_ADMIN]) and the nft tool',
        cause: err,
      });
    }
  }

  async #bringUp(): Promise<void> {
    const c = this.#config;
    const addresses = c.addresses.filter((a) => this.#ipv6 || isIP(a.split('/')[0]) !== 6);
    if (addresses.length < c.addresses.length) {
      this.#log.warn({ skipped: c.addresses.filter((a) => !addresses.includes(a)) }, 'IPv6 is disabled in this container; the tunnel carries IPv4 only (IPv6 stays blocked). Set sysctl net.ipv6.conf.all.disable_ipv6=0 to enable it');
    }
    const link = await bringUpWireGuard({
      name: this.#o.iface,
      privateKeyFile: this.#keyFile,
      fwmark: this.#o.fwmark,
      peers: [{ publicKey: c.peer.publicKey, endpoint: endpointText(this.#endpoint), allowedIps: c.peer.allowedIps, persistentKeepalive: c.peer.persistentKeepalive }],
      addresses,
      mtu: c.mtu,
      logger: this.#log,
      prefer: this.#o.prefer,
    });
    try {
      await this.#presharedKey();
      for (const cmd of tunnelRoutes(this.#routing())) await runCommand('ip', cmd);
    } catch (err) {
      await link.down();
      throw err;
    }
    this.#link = link;
    link.onExit((reason) => void this.#recover(reason));
  }

  async #presharedKey(): Promise<void> {
    const psk = this.#config.peer.presharedKey;
    if (!psk) return;
    const file = join(this.#o.stateDir, 'psk.key');
    writeFileSync(file, psk + '\n', { mode: 0o600 });
    await runCommand('wg', ['set', this.#o.iface, 'peer', this.#config.peer.publicKey, 'preshared-key', file]);
  }

  /** wireguard-go died: traffic is already failing closed; bring the tunnel back with backoff. */
  async #recover(reason: string): Promise<void> {
    this.#link = null;
    this.#removeReady();
    this.#log.error({ reason }, 'tunnel lost; traffic is blocked until it is back');
    for (let delay = 500; !this.#closed; delay = Math.min(delay * 2, 10_000)) {
      await sleep(delay);
      if (this.#closed) return;
      try {
        await this.#bringUp();
        this.#writeReady();
        this.#log.info('tunnel restored');
        return;
      } catch (err) {
        this.#log.error({ err: (err as Error).message }, 'could not restore the tunnel; retrying');
      }
    }
  }

  /** Forget the peer's session and add it again, so the next packet starts a fresh handshake. */
  async #resetPeer(): Promise<void> {
    const c = this.#config;
    await runCommand('wg', ['set', this.#o.iface, 'peer', c.peer.publicKey, 'remove']);
    const args = ['set', this.#o.iface, 'peer', c.peer.publicKey, 'allowed-ips', c.peer.allowedIps.join(','), 'endpoint', endpointText(this.#endpoint)];
    if (c.peer.persistentKeepalive) args.push('persistent-keepalive', String(c.peer.persistentKeepalive));
    await runCommand('wg', args);
    await this.#presharedKey();
  }

  /** Periodic: follow a rewritten client.conf (proxy restarted) and a proxy that came back on another address. */
  async #tick(): Promise<void> {
    if (this.#busy || this.#closed || !this.#link) return;
    this.#busy = true;
    try {
      let reset = false;
      let text: string | null = null;
      try {
        text = readFileSync(this.#o.configPath, 'utf8');
      } catch {
        /* being rewritten */
      }
      const stamp = text === null ? this.#configStamp : this.#stamp(text);
      if (text !== null && stamp !== this.#configStamp) {
        try {
          const next = parseClientConfig(text, this.#o.configPath);
          const old = this.#config;
          if (next.privateKey !== old.privateKey) {
            writeFileSync(this.#keyFile, next.privateKey + '\n', { mode: 0o600 });
            await runCommand('wg', ['set', this.#o.iface, 'private-key', this.#keyFile]);
          }
          if (next.peer.publicKey !== old.peer.publicKey) await tryCommand('wg', ['set', this.#o.iface, 'peer', old.peer.publicKey, 'remove']);
          if (next.addresses.join() !== old.addresses.join() || next.mtu !== old.mtu) {
            this.#log.warn('client.conf changed its addresses or MTU; restart the wg-client service to apply them');
          }
          this.#config = { ...next, addresses: old.addresses, mtu: old.mtu };
          this.#configStamp = stamp;
          reset = true;
          this.#log.info('client.conf was rewritten (proxy restarted); renewing the WireGuard session');
        } catch (err) {
          this.#log.debug({ err: (err as Error).message }, 'client.conf not parseable yet');
        }
      }
      // Re-resolving needs Docker's resolver, which tunnel mode refuses; there the address is fixed at start.
      if (this.#dns.mode === 'docker' && !isIP(this.#endpoint.host)) {
        try {
          const ep = await resolveEndpoint(this.#endpoint.host, this.#endpoint.port);
          if (ep.v4.join() !== this.#endpoint.v4.join() || ep.v6.join() !== this.#endpoint.v6.join()) {
            this.#log.info({ from: [...this.#endpoint.v4, ...this.#endpoint.v6], to: [...ep.v4, ...ep.v6] }, `the proxy ${ep.host} moved to a new address`);
            await runCommand('nft', ['-f', '-'], { input: proxySetsUpdate(this.#o.nftTable, ep.v4, ep.v6) });
            this.#endpoint = ep;
            reset = true;
          }
        } catch {
          /* the proxy is restarting: keep the last known address */
        }
      }
      if (reset) await this.#resetPeer();
    } catch (err) {
      this.#log.error({ err: (err as Error).message }, 'supervisor step failed');
    } finally {
      this.#busy = false;
    }
  }

  #writeReady(): void {
    writeFileSync(this.#o.readyFile, `${new Date().toISOString()}\n`);
  }

  #removeReady(): void {
    try {
      unlinkSync(this.#o.readyFile);
    } catch {
      /* not there */
    }
  }
}
