import type { Transform } from 'node:stream';
import { limitAcceptEncoding, responseBodyPlan, scrubRawHeaders, type SecretVault } from '../../secrets/index.js';
import { stripHopByHop } from './hop-by-hop.js';

export type ResponsePlan =
  | { ok: true; headers: string[]; transforms: Transform[] }
  | { ok: false; message: string };

/**
 * Headers and body transforms for a response the agent will read: hop-by-hop headers dropped, real
 * secret values scrubbed back into placeholders in headers and body. A compressed body passes
 * untouched unless the vault holds values to scrub; then it is decoded (the secrets' plan).
 */
export function planResponse(rawHeaders: readonly string[], status: number, method: string, vault: SecretVault, options: { lowerCase?: boolean } = {}): ResponsePlan {
  const stripped = stripHopByHop(rawHeaders, { lowerCase: options.lowerCase });
  if (!vault.hasScrubbableValues) return { ok: true, headers: stripped, transforms: [] };
  const headers = scrubRawHeaders(vault, stripped).headers;
  let encoding: string[] | undefined;
  for (let i = 0; i < headers.length; i += 2) if (headers[i]!.toLowerCase() === 'content-encoding') (encoding ??= []).push(headers[i + 1]!);
  const plan = responseBodyPlan(vault, { contentEncoding: encoding, status, method });
  if (!plan.ok) return { ok: false, message: plan.message };
  if (plan.dropHeaders.length === 0) return { ok: true, headers, transforms: plan.transforms };
  const drop = new Set(plan.dropHeaders);
  return { ok: true, headers: headers.filter((_, i, all) => !drop.has(all[i - (i % 2)]!.toLowerCase())), transforms: plan.transforms };
}

/**
 * Relay a planned response body with `.pipe()`: through the plan's transforms (none when there is
 * nothing to scrub) into `dest`. For bodies whose connection closes after them (a declined upgrade).
 */
export function pipeThroughTransforms(body: NodeJS.ReadableStream, transforms: readonly Transform[], dest: NodeJS.WritableStream): void {
  let out = body;
  for (const t of transforms) out = out.pipe(t);
  out.pipe(dest);
}

/**
 * Rewrite Accept-Encoding in a flat header list (in place on a copy) when responses may need
 * scrubbing, so upstreams only pick codings the proxy can decode.
 */
export function limitAcceptEncodingIn(headers: string[], vault: SecretVault): string[] {
  if (!vault.hasScrubbableValues) return headers;
  let out = headers;
  for (let i = 0; i < out.length; i += 2) {
    if (out[i]!.toLowerCase() !== 'accept-encoding') continue;
    if (out === headers) out = headers.slice();
    const v = limitAcceptEncoding(out[i + 1]);
    if (v === undefined) {
      out.splice(i, 2);
      i -= 2;
    } else out[i + 1] = v;
  }
  return out;
}
