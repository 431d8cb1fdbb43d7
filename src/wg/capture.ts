import type { Logger } from '../log.js';
import { SandcatError } from '../errors.js';
import { captureRuleset, captureTableName, captureTeardown, type CapturePlanInput } from './capture-plan.js';
import { runCommand } from './run-command.js';

export interface Capture {
  readonly table: string;
  /** Delete the table. Idempotent; logs instead of throwing (it runs during shutdown). */
  remove(): Promise<void>;
}

/** Install (or replace a stale) capture table for `iface`; see capture-plan.ts for the rules. */
export async function installCapture(input: CapturePlanInput, logger: Logger): Promise<Capture> {
  const table = captureTableName(input.iface);
  try {
    await runCommand('nft', ['-f', '-'], { input: captureRuleset(input) });
  } catch (err) {
    throw new SandcatError('E_CAPTURE_FAILED', `could not install nftables table inet ${table}: ${(err as Error).message}`, {
      cause: err,
      hint: 'the daemon needs CAP_NET_ADMIN and nftables with nat support (nft_nat, nft_redirect, nft_reject_inet)',
    });
  }
  logger.info({ table, iface: input.iface, dnsPort: input.dnsPort, proxyPort: input.proxyPort }, `capture installed: tcp → :${input.proxyPort}, dns → :${input.dnsPort}, other udp rejected`);
  let removed = false;
  return {
    table,
    async remove() {
      if (removed) return;
      removed = true;
      try {
        await runCommand('nft', ['-f', '-'], { input: captureTeardown(input.iface) });
        logger.info({ table }, 'capture removed');
      } catch (err) {
        logger.error({ table, err: (err as Error).message }, 'could not remove capture table');
      }
    },
  };
}
