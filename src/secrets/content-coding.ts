import zlib from 'node:zlib';
import type { Transform } from 'node:stream';

/**
 * Content codings the proxy can look inside. A body in any other coding cannot be checked for
 * placeholders or scrubbed of values, so it is refused rather than passed through unchecked.
 * "deflate" is the zlib format (RFC 9110 §8.4.1.2), which is what clients send.
 */
export const SUPPORTED_CODINGS = ['gzip', 'deflate', 'br'] as const;
export type Coding = (typeof SUPPORTED_CODINGS)[number];

const ALIASES: Record<string, Coding> = { gzip: 'gzip', 'x-gzip': 'gzip', deflate: 'deflate', br: 'br' };

export type ParsedCodings = { ok: true; codings: Coding[] } | { ok: false; coding: string };

/** Parse Content-Encoding (codings listed in the order they were applied; identity is dropped). */
export function parseContentEncoding(header: string | readonly string[] | undefined): ParsedCodings {
  if (header === undefined) return { ok: true, codings: [] };
  const codings: Coding[] = [];
  for (const raw of (typeof header === 'string' ? [header] : header).join(',').split(',')) {
    const name = raw.trim().toLowerCase();
    if (name === '' || name === 'identity') continue;
    const coding = Object.hasOwn(ALIASES, name) ? ALIASES[name] : undefined;
    if (!coding) return { ok: false, coding: name };
    codings.push(coding);
  }
  return { ok: true, codings };
}

export function decoderFor(coding: Coding): Transform {
  // Flushing on truncated input keeps what was decodable; the stream still errors at the end.
  const opts = { finishFlush: zlib.constants.Z_SYNC_FLUSH };
  if (coding === 'gzip') return zlib.createGunzip(opts);
  if (coding === 'deflate') return zlib.createInflate(opts);
  return zlib.createBrotliDecompress();
}

/** Fast settings: this is re-encoding on the hot path, not archiving. */
export function encoderFor(coding: Coding): Transform {
  if (coding === 'gzip') return zlib.createGzip({ level: 1 });
  if (coding === 'deflate') return zlib.createDeflate({ level: 1 });
  return zlib.createBrotliCompress({ params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 1 } });
}

/** Decoders for a body encoded with `codings` (applied in order), so: undo the last one first. */
export function decodersFor(codings: readonly Coding[]): Transform[] {
  return [...codings].reverse().map(decoderFor);
}

export function encodersFor(codings: readonly Coding[]): Transform[] {
  return codings.map(encoderFor);
}

/**
 * Rewrite a request's Accept-Encoding so the upstream only answers in codings the proxy can
 * decode for scrubbing (zstd, compress and unknown codings are removed; q-values kept).
 * Returns undefined when nothing acceptable remains (the header should then be dropped, which
 * means identity).
 */
export function limitAcceptEncoding(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const kept = header
    .split(',')
    .map((part) => part.trim())
    .filter((part) => {
      const name = part.split(';')[0]!.trim().toLowerCase();
      return name === 'identity' || Object.hasOwn(ALIASES, name); // "*" would let the upstream pick zstd
    });
  return kept.length ? kept.join(', ') : undefined;
}
