import { readFile } from 'node:fs/promises';
import { SandcatError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { parseClientConfig, type ClientConfig } from './config.js';

/**
 * Wait until the daemon has written a parseable client config. A missing file and a half-written
 * one are both "not yet"; the last error is reported when the time runs out.
 */
export async function waitForClientConfig(path: string, timeoutMs: number, logger: Logger): Promise<{ config: ClientConfig; text: string }> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  let told = false;
  for (;;) {
    try {
      const text = await readFile(path, 'utf8');
      return { config: parseClientConfig(text, path), text };
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) break;
    if (!told) {
      logger.info({ config: path }, `waiting for ${path} (written by the sandcat daemon)`);
      told = true;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const why = lastError instanceof Error ? lastError.message : String(lastError);
  throw new SandcatError('E_WG_CONFIG_MISSING', `no usable WireGuard client config at ${path} after ${Math.round(timeoutMs / 1000)}s: ${why}`, {
    hint: 'is the proxy service running and healthy, and is the sandcat-wg volume mounted at the same path in both containers?',
    cause: lastError,
  });
}
