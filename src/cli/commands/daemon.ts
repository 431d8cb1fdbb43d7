/**
 * `sandcat daemon`: the proxy container's process. See src/daemon/daemon.ts for the lifecycle.
 * Exit status: 0 after a clean stop, 2 for invalid settings or flags, 1 for anything else
 * (no WireGuard, no nftables, a port in use, wireguard-go dying).
 */
import 'reflect-metadata';
import { startDaemon } from '../../daemon/daemon.js';
import { DAEMON_FLAGS, parseDaemonOptions } from '../../daemon/options.js';
import { formatError, SandcatError, SettingsError } from '../../errors.js';
import { createLogger } from '../../log.js';
import { flagHelp } from '../args.js';

export const help = `usage: sandcat daemon [options]

Run the sandcat proxy: a WireGuard server for the wg-client container, nftables capture of the
tunnel's traffic, a DNS server that refuses denied names, TLS interception with sandcat's CA,
allow/deny rules and secret substitution. Writes <wg-dir>/client.conf, <public-dir>/ca.pem,
<public-dir>/sandcat.env and, once serving, <public-dir>/ready.

Signals: SIGTERM/SIGINT stop cleanly (interface and nft table removed); SIGHUP reloads the
settings (the previous policy stays if the new settings are invalid).

options:
${flagHelp(DAEMON_FLAGS)}
`;

export async function run(args: string[]): Promise<number> {
  const logger = createLogger().child({ component: 'daemon' });
  let opts;
  try {
    opts = parseDaemonOptions(args);
  } catch (err) {
    process.stderr.write(`sandcat daemon: ${formatError(err)}\n`);
    return 2;
  }

  let daemon;
  try {
    daemon = await startDaemon(opts, logger);
  } catch (err) {
    const status = err instanceof SettingsError || (err instanceof SandcatError && err.code === 'E_USAGE') ? 2 : 1;
    logger.fatal({ event: 'start-failed', code: (err as SandcatError).code, err: formatError(err) }, `cannot start: ${formatError(err)}`);
    logger.flush();
    process.stderr.write(`sandcat daemon: ${formatError(err)}\n`);
    return status;
  }

  const onStop = (signal: NodeJS.Signals): void => void daemon.stop(`received ${signal}`);
  const onHup = (): void => void daemon.reload();
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  process.on('SIGHUP', onHup);
  const status = await daemon.stopped;
  // The stop handlers stay: a SIGTERM that arrives while the process exits (docker stop right
  // after a fail-closed stop) must not replace the exit status with death by signal.
  process.off('SIGHUP', onHup);
  logger.flush();
  // Everything is closed; if a stray handle kept the loop alive, do not hang the container's stop.
  setTimeout(() => process.exit(status), 2000).unref();
  return status;
}
