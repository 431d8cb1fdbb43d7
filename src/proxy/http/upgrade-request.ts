import type { ClientRequest } from 'node:http';
import type { Duplex } from 'node:stream';
import { classifyUpstreamError, type UpstreamFailure } from '../upstream/failure.js';

/**
 * The upstream request of an upgrade (HTTP/1.1 `Upgrade:` or h2 extended CONNECT) until it is
 * answered: destroyed when the client closes first; its first error before an answer is
 * classified (against `host`:`port`) and handed to `onFailure`, once. Returns `settle`, to call
 * as the response or the upgrade arrives: from then on errors are the relay's to handle.
 */
export function watchUpgradeRequest(
  up: ClientRequest,
  client: Duplex,
  host: string,
  port: number,
  onFailure: (failure: UpstreamFailure) => void,
): () => void {
  let settled = false;
  const clientGone = () => {
    if (!settled) up.destroy();
  };
  client.once('close', clientGone);
  up.on('error', (err) => {
    if (settled) return;
    settled = true;
    onFailure(classifyUpstreamError(err, host, port));
  });
  return () => {
    settled = true;
    client.off('close', clientGone);
  };
}
