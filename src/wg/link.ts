/**
 * Bring a WireGuard interface up in the current network namespace, for the daemon (server side)
 * and for `sandcat wg-client` (client side).
 *
 *   const link = await bringUpWireGuard({ name, privateKeyFile, listenPort, peers, addresses, mtu, logger });
 *   link.kind          // 'kernel' | 'wireguard-go'
 *   link.onExit(cb)    // wireguard-go died on its own: the tunnel is gone, fail closed
 *   await link.down()  // delete the interface and stop wireguard-go (idempotent)
 *
 * Kernel WireGuard is tried first (`ip link add NAME type wireguard`); when the kernel lacks it,
 * `wireguard-go -f NAME` is spawned and supervised (it needs /dev/net/tun). Both are configured
 * with `wg set`, so the rest is identical.
 *
 * wireguard-go's control sockets live in /var/run/wireguard/NAME.sock, which every network
 * namespace on a host shares: interface names must be unique host-wide when several namespaces
 * run tunnels (tests). A live socket owned by another namespace is refused rather than reused.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { isIPv6 } from 'node:net';
import type { Logger } from '../log.js';
import { SandcatError } from '../errors.js';
import { runCommand, tryCommand } from './run-command.js';

export interface WireGuardPeerConfig {
  publicKey: string;
  /** host:port ([v6]:port); omitted on the server side (the client roams). */
  endpoint?: string;
  allowedIps: string[];
  persistentKeepalive?: number;
}

export interface BringUpOptions {
  /** Interface name, at most 15 characters. */
  name: string;
  /** File holding this side's private key (0600); passed to `wg set … private-key FILE`. */
  privateKeyFile: string;
  listenPort?: number;
  fwmark?: number;
  peers: WireGuardPeerConfig[];
  /** CIDRs, v4 and/or v6, e.g. ['10.77.0.1/24', 'fd00:77::1/64']. */
  addresses: string[];
  mtu?: number;
  logger: Logger;
  /** 'auto' (default) tries the kernel first. */
  prefer?: 'auto' | 'kernel' | 'wireguard-go';
  wireguardGoPath?: string;
}

export type WireGuardKind = 'kernel' | 'wireguard-go';

export interface WireGuardLink {
  readonly name: string;
  readonly kind: WireGuardKind;
  /** pid of the supervised wireguard-go, if any. */
  readonly pid: number | undefined;
  /** Delete the interface and stop wireguard-go. Idempotent; never throws. */
  down(): Promise<void>;
  /** Called once if wireguard-go exits while the link is meant to be up. */
  onExit(cb: (reason: string) => void): void;
}

const SOCKET_DIR = '/var/run/wireguard';
const MAX_IFNAME = 15;

export function wireguardSocketPath(name: string): string {
  return `${SOCKET_DIR}/${name}.sock`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function linkExists(name: string): Promise<boolean> {
  return tryCommand('ip', ['link', 'show', 'dev', name]);
}

/** Is someone listening on the UAPI socket? (A leftover file from a dead process refuses.) */
function socketIsLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    if (!existsSync(path)) return resolve(false);
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Remove what a previous run may have left: our own interface in this namespace (its wireguard-go,
 * if any, exits when the tun device goes) and a dead control socket.
 */
async function clearStale(name: string, logger: Logger): Promise<void> {
  if (await linkExists(name)) {
    logger.warn({ iface: name }, `removing stale interface ${name} left by an earlier run`);
    await tryCommand('ip', ['link', 'del', 'dev', name]);
  }
  const sock = wireguardSocketPath(name);
  for (let i = 0; i < 40 && (await socketIsLive(sock)); i++) await sleep(50);
  if (await socketIsLive(sock)) {
    throw new SandcatError('E_WG_NAME_IN_USE', `a wireguard-go for interface ${name} is running elsewhere (${sock} is live)`, {
      hint: 'wireguard-go control sockets are shared by all network namespaces: choose another --wg-interface name, or stop the other process',
    });
  }
  if (existsSync(sock)) {
    try {
      unlinkSync(sock);
    } catch {
      /* raced with its owner's cleanup */
    }
  }
}

function wireguardGoCommand(binary: string, name: string): { cmd: string; args: string[] } {
  // setpriv --pdeathsig makes wireguard-go die with us even on SIGKILL, so no tunnel outlives the
  // process that supervises it (and no orphan keeps the interface name's socket).
  if (existsSync('/usr/bin/setpriv')) return { cmd: '/usr/bin/setpriv', args: ['--pdeathsig', 'KILL', '--', binary, '-f', name] };
  return { cmd: binary, args: ['-f', name] };
}

async function startWireguardGo(name: string, binary: string, logger: Logger): Promise<ChildProcess> {
  const { cmd, args } = wireguardGoCommand(binary, name);
  const child = spawn(cmd, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, WG_PROCESS_FOREGROUND: '1', LOG_LEVEL: process.env.WG_LOG_LEVEL ?? 'error' },
  });
  let output = '';
  const collect = (chunk: Buffer): void => {
    const text = chunk.toString();
    if (output.length < 4096) output += text;
    for (const line of text.split('\n')) if (line.trim()) logger.debug({ iface: name, wireguardGo: line.trim() }, 'wireguard-go');
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  let exited: string | null = null;
  child.once('error', (err) => (exited = err.message));
  child.once('exit', (code, signal) => (exited = `exit ${code ?? signal}`));
  const sock = wireguardSocketPath(name);
  for (let i = 0; i < 200; i++) {
    if (exited !== null) break;
    if (existsSync(sock) && (await linkExists(name))) return child;
    await sleep(25);
  }
  child.kill('SIGKILL');
  throw new SandcatError('E_WG_UP_FAILED', `wireguard-go could not create ${name}: ${exited ?? 'timed out'}${output ? `: ${output.trim()}` : ''}`, {
    hint: 'wireguard-go needs /dev/net/tun and CAP_NET_ADMIN (docker: --cap-add NET_ADMIN --device /dev/net/tun)',
  });
}

/** The `wg set` arguments for a whole interface configuration (pure; exported for tests). */
export function wgSetArgs(opts: Pick<BringUpOptions, 'name' | 'privateKeyFile' | 'listenPort' | 'fwmark' | 'peers'>): string[] {
  const args = ['set', opts.name, 'private-key', opts.privateKeyFile];
  if (opts.listenPort !== undefined) args.push('listen-port', String(opts.listenPort));
  if (opts.fwmark !== undefined) args.push('fwmark', String(opts.fwmark));
  for (const p of opts.peers) {
    args.push('peer', p.publicKey, 'allowed-ips', p.allowedIps.join(','));
    if (p.endpoint) args.push('endpoint', p.endpoint);
    if (p.persistentKeepalive) args.push('persistent-keepalive', String(p.persistentKeepalive));
  }
  return args;
}

export async function bringUpWireGuard(opts: BringUpOptions): Promise<WireGuardLink> {
  const { name, logger } = opts;
  if (!/^[A-Za-z0-9_.=+-]{1,15}$/.test(name) || name.length > MAX_IFNAME) {
    throw new SandcatError('E_WG_NAME', `invalid interface name "${name}"`, { hint: 'use 1-15 letters, digits, "-" or "_"' });
  }
  await clearStale(name, logger);

  let kind: WireGuardKind;
  let child: ChildProcess | null = null;
  const prefer = opts.prefer ?? 'auto';
  if (prefer !== 'wireguard-go' && (await tryCommand('ip', ['link', 'add', 'dev', name, 'type', 'wireguard']))) {
    kind = 'kernel';
  } else if (prefer === 'kernel') {
    throw new SandcatError('E_WG_UP_FAILED', `the kernel has no WireGuard support for ${name}`, { hint: 'load the wireguard module or allow the wireguard-go fallback' });
  } else {
    kind = 'wireguard-go';
    child = await startWireguardGo(name, opts.wireguardGoPath ?? 'wireguard-go', logger);
  }

  let isDown = false;
  const exitCallbacks: ((reason: string) => void)[] = [];
  if (child) {
    child.once('exit', (code, signal) => {
      if (isDown) return;
      const reason = `wireguard-go for ${name} exited (${code ?? signal})`;
      logger.error({ iface: name, code, signal }, reason);
      for (const cb of exitCallbacks.splice(0)) cb(reason);
    });
  }

  const down = async (): Promise<void> => {
    if (isDown) return;
    isDown = true;
    await tryCommand('ip', ['link', 'del', 'dev', name]);
    if (child && child.exitCode === null && child.signalCode === null) {
      const gone = new Promise<void>((r) => child!.once('exit', () => r()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child!.kill('SIGKILL'), 2000);
      await gone;
      clearTimeout(timer);
    }
  };

  try {
    await runCommand('wg', wgSetArgs(opts));
    for (const addr of opts.addresses) {
      // nodad: the nft redirect rewrites to this address, which must be usable at once, not "tentative".
      const args = isIPv6(addr.split('/')[0]) ? ['-6', 'address', 'add', addr, 'dev', name, 'nodad'] : ['-4', 'address', 'add', addr, 'dev', name];
      await runCommand('ip', args);
    }
    await runCommand('ip', ['link', 'set', 'dev', name, ...(opts.mtu ? ['mtu', String(opts.mtu)] : []), 'up']);
  } catch (err) {
    await down();
    throw err;
  }
  logger.info({ iface: name, kind, pid: child?.pid, addresses: opts.addresses, listenPort: opts.listenPort }, `WireGuard interface ${name} is up (${kind})`);

  return {
    name,
    kind,
    pid: child?.pid,
    down,
    onExit(cb) {
      exitCallbacks.push(cb);
    },
  };
}
