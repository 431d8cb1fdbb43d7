/**
 * The daemon's lifecycle. Start, in this order (each step fails closed: an error stops the daemon
 * and undoes what was done):
 *   1. remove a stale `<public>/ready`;
 *   2. load settings (invalid → SettingsError, exit 2) and compile the snapshot; log the summary;
 *   3. the CA (key private, `<public>/ca.pem`);
 *   4. DNS server and proxy listeners (dual-stack `::`), so captured traffic has somewhere to go;
 *   5. WireGuard: keys, interface, `<wg>/client.conf`;
 *   6. the nft capture table for the interface;
 *   7. `<public>/sandcat.env`, then `<public>/ready` last.
 * Stop (SIGTERM/SIGINT, or wireguard-go dying): ready removed, interface down first (no packet
 * moves once the tunnel is gone), capture table removed, listeners closed.
 * SIGHUP, or an edit of any settings file (watched): reload settings; on any error keep the
 * current policy and log why.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { NameAttribution, startDnsServer, UpstreamResolver, type DnsServer } from '../dns/index.js';
import { formatError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ProxyHandle, ProxyOptions } from '../proxy/types.js';
import { describeSettingsChange, loadSettings, watchSettings, type Settings } from '../settings/index.js';
import { installCapture, type Capture } from '../wg/capture.js';
import { startWireGuardServer, type WireGuardServer } from '../wg/server.js';
import { writeFileAtomic } from './atomic-write.js';
import { envEntries, renderEnvFile } from './env-file.js';
import { LiveState } from './live-state.js';
import type { DaemonOptions } from './options.js';
import { buildSnapshot } from './snapshot.js';
import { summarize } from './summary.js';

export const READY_FILE = 'ready';
export const ENV_FILE = 'sandcat.env';

export interface RunningDaemon {
  readonly state: LiveState;
  /** Resolves with the exit status once the daemon has stopped. */
  readonly stopped: Promise<number>;
  stop(reason: string, status?: number): Promise<number>;
  reload(): Promise<boolean>;
}

function readSettings(o: DaemonOptions): Settings {
  return loadSettings({ userFile: o.userSettings, projectDir: o.projectDir });
}

function writeEnvFile(o: DaemonOptions, settings: Settings, logger: Logger): void {
  const { entries, warnings } = envEntries(settings);
  for (const w of warnings) logger.warn(w);
  // 0644: agents read it; it holds env values and placeholders, never a real secret.
  writeFileAtomic(join(o.publicDir, ENV_FILE), renderEnvFile(entries), 0o644);
}

/** Load the proxy lazily: its TLS stack is heavy and only the daemon needs it. */
async function startProxyServer(opts: ProxyOptions): Promise<ProxyHandle> {
  const { startProxy } = await import('../proxy/server.js');
  return startProxy(opts);
}

/**
 * Start everything. Throws (after undoing partial work) when startup fails; SettingsError means
 * the settings are invalid (the CLI maps it to exit status 2).
 */
export async function startDaemon(o: DaemonOptions, logger: Logger): Promise<RunningDaemon> {
  mkdirSync(o.publicDir, { recursive: true });
  const readyFile = join(o.publicDir, READY_FILE);
  rmSync(readyFile, { force: true });

  const settings = readSettings(o);
  for (const w of settings.warnings) logger.warn(w);
  const state = new LiveState(await buildSnapshot(settings, logger));
  const { summary, message } = summarize(state.current);
  logger.info({ event: 'start', ...summary }, message);

  const undo: (() => Promise<unknown>)[] = [];
  let wg: WireGuardServer | null = null;
  let capture: Capture | null = null;
  let dns: DnsServer | null = null;
  let proxy: ProxyHandle | null = null;
  let stopping: Promise<number> | null = null;
  let resolveStopped!: (status: number) => void;
  const stopped = new Promise<number>((r) => (resolveStopped = r));

  const teardown = async (): Promise<void> => {
    rmSync(readyFile, { force: true });
    // The interface first: once it is gone no agent packet moves, whatever else still runs.
    for (const step of undo.splice(0).reverse()) {
      try {
        await step();
      } catch (err) {
        logger.error({ err: formatError(err) }, 'teardown step failed');
      }
    }
  };

  try {
    const { loadOrCreateCa } = await import('../proxy/tls/ca.js');
    const { guardLookup } = await import('../proxy/upstream/address-guard.js');
    const ca = await loadOrCreateCa(o.stateDir, o.publicDir);

    const s4 = o.tunnel4.split('/')[0]!;
    const s6 = o.tunnel6.split('/')[0]!;
    // One peer: its v4 and v6 tunnel addresses are one client for attribution (it may ask over
    // v6 and connect over v4).
    const attribution = new NameAttribution({ clientKey: () => 'peer' });
    const resolver = new UpstreamResolver(state);
    dns = await startDnsServer({ host: '::', port: o.dnsPort, state, attribution, resolver, logger });
    undo.push(() => dns!.close());
    proxy = await startProxyServer({
      host: '::',
      port: o.proxyPort,
      state,
      attribution,
      // Never a local address or one of its own, whatever an allowed name resolves to (address-guard.ts).
      lookup: guardLookup(resolver.lookup, [s4, s6, ...ownInterfaceAddresses()]),
      ca,
      logger,
      idleTimeoutMs: o.idleTimeoutMs,
      selfAddresses: [s4, s6],
      selfPorts: [o.proxyPort, o.dnsPort],
    });
    undo.push(() => proxy!.destroy());

    wg = await startWireGuardServer({
      stateDir: o.stateDir,
      wgDir: o.wgDir,
      iface: o.wgInterface,
      listenPort: o.wgPort,
      endpoint: o.wgEndpoint,
      tunnel4: o.tunnel4,
      tunnel6: o.tunnel6,
      logger,
    });
    undo.push(() => wg!.link.down());
    wg.link.onExit((reason) => void stop(`${reason}; the tunnel is gone`, 1));

    capture = await installCapture({ iface: o.wgInterface, dnsPort: o.dnsPort, proxyPort: o.proxyPort }, logger);
    // Undo runs in reverse; slot the table in before the interface so teardown goes:
    // interface down, table removed, proxy, DNS.
    undo.splice(undo.length - 1, 0, () => capture!.remove());

    writeEnvFile(o, settings, logger);
    writeFileAtomic(readyFile, `${new Date().toISOString()}\n`);
  } catch (err) {
    await teardown();
    throw err;
  }
  logger.info(
    { event: 'ready', iface: o.wgInterface, kind: wg.link.kind, wgPort: o.wgPort, proxyPort: o.proxyPort, dnsPort: o.dnsPort, endpoint: o.wgEndpoint, table: capture.table },
    `sandcat is serving: WireGuard ${o.wgInterface} (${wg.link.kind}) on :${o.wgPort}, proxy :${o.proxyPort}, dns :${o.dnsPort}`,
  );

  const stop = (reason: string, status = 0): Promise<number> => {
    if (stopping) return stopping;
    logger.info({ event: 'stop', reason }, `stopping: ${reason}`);
    stopping = teardown().then(() => {
      logger.info({ event: 'stopped' }, 'stopped; nft table and interface removed');
      resolveStopped(status);
      return status;
    });
    return stopping;
  };

  let reloading: Promise<boolean> = Promise.resolve(true);
  const reload = (): Promise<boolean> => {
    reloading = reloading.then(async () => {
      if (stopping) return false;
      try {
        const next = readSettings(o);
        for (const w of next.warnings) logger.warn(w);
        const snap = await buildSnapshot(next, logger);
        // Render the env file before swapping, so a bad name keeps both the old policy and file.
        const { entries } = envEntries(next);
        const envText = renderEnvFile(entries);
        const previous = state.current.settings;
        const current = state.replace(snap);
        writeFileAtomic(join(o.publicDir, ENV_FILE), envText, 0o644);
        const { summary, message } = summarize(current);
        const change = describeSettingsChange(previous, next);
        logger.info({ event: 'reload', ...summary, change: change.summary }, `settings reloaded: ${message} (${change.any ? `what changed: ${change.summary}` : 'nothing changed'})`);
        return true;
      } catch (err) {
        logger.error({ event: 'reload-failed', err: formatError(err) }, `settings reload failed, keeping the previous policy: ${formatError(err)}`);
        return false;
      }
    });
    return reloading;
  };

  // Edits apply without a restart, as `sandcat edit` users expect; SIGHUP stays for scripts.
  const watcher = watchSettings({ userFile: o.userSettings, projectDir: o.projectDir }, (changed) => {
    logger.info({ event: 'settings-changed', files: changed }, `settings changed (${changed.join(', ')}); reloading`);
    void reload();
  });
  undo.push(async () => watcher.close());

  return { state, stopped, stop, reload };
}

/** For status checks: is a daemon serving with this public dir? */
export function isReady(publicDir: string): boolean {
  return existsSync(join(publicDir, READY_FILE));
}

/** This namespace's own addresses (a container's eth0 among them): its listeners are not upstreams. */
function ownInterfaceAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((a) => a.address));
}
