import type { Transform } from 'node:stream';
import { decodersFor, parseContentEncoding } from './content-coding.js';
import type { SecretVault } from './vault.js';

/**
 * Reflection scrubbing: a real value that an upstream echoes back (in headers or a body) becomes
 * its placeholder again before the agent reads it. Headers: scrubRawHeaders / scrubHeaderMap
 * (headers.ts). Bodies: the plan below.
 *
 * Every response is scrubbed, whatever host it came from: a value sent to an allowed host that
 * stores it (an issue comment, a gist) can be read back through another host.
 */

export interface ResponseBodyInput {
  /** The response's Content-Encoding header, if any. */
  contentEncoding?: string | readonly string[];
  /** The response status: 204, 304, 1xx and HEAD responses have no body and need no plan. */
  status?: number;
  /** The request method (HEAD responses have no body). */
  method?: string;
}

export type ResponseBodyPlan =
  | {
      ok: true;
      /** Pipe the body through these, in order. Empty: pass it through untouched. */
      transforms: Transform[];
      /** Headers to remove before sending the response head (lower case). */
      dropHeaders: string[];
    }
  | { ok: false; status: 502; coding: string; message: string };

const NONE: ResponseBodyPlan = { ok: true, transforms: [], dropHeaders: [] };

/**
 * How to stream a response body to the agent. A compressed body is decoded and sent as identity
 * (Content-Encoding and Content-Length dropped) because the scrubber must see plain bytes. Use
 * limitAcceptEncoding on the request so upstreams only pick codings listed in SUPPORTED_CODINGS;
 * anything else is refused with 502 rather than passed unchecked.
 */
export function responseBodyPlan(vault: SecretVault, input: ResponseBodyInput = {}): ResponseBodyPlan {
  if (!vault.hasScrubbableValues) return NONE;
  const s = input.status;
  if (input.method?.toUpperCase() === 'HEAD' || s === 204 || s === 304 || (s !== undefined && s < 200)) return NONE;
  const parsed = parseContentEncoding(input.contentEncoding);
  if (!parsed.ok) {
    return {
      ok: false,
      status: 502,
      coding: parsed.coding,
      message: `sandcat: the upstream answered with a body encoded as "${parsed.coding}", which sandcat cannot decode to keep secret values out of it.`,
    };
  }
  if (parsed.codings.length > 0 && s === 206) {
    return { ok: false, status: 502, coding: parsed.codings.join(', '), message: 'sandcat: the upstream answered with a compressed partial body, which sandcat cannot decode to keep secret values out of it.' };
  }
  const transforms = [...decodersFor(parsed.codings), vault.responseScrubTransform()];
  const dropHeaders = parsed.codings.length ? ['content-encoding', 'content-length'] : ['content-length'];
  return { ok: true, transforms, dropHeaders };
}
