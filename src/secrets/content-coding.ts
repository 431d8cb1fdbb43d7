import zlib from 'node:zlib';
import { Transform, type TransformCallback } from 'node:stream';

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
  // Sync flush at the end: a body the upstream itself truncated yields what was decodable instead
  // of an error (a cut upstream connection still errors the response on its own).
  const opts = { finishFlush: zlib.constants.Z_SYNC_FLUSH };
  if (coding === 'gzip') return zlib.createGunzip(opts);
  if (coding === 'deflate') return new AnyDeflateDecoder(opts);
  return zlib.createBrotliDecompress();
}

/**
 * "deflate" should be zlib-wrapped, but some servers send raw deflate (RFC 1951) under that name,
 * and browsers accept both. The first two bytes tell them apart (a zlib header has CM=8 and a
 * 16-bit check that is a multiple of 31); the matching inflater then gets every byte.
 */
class AnyDeflateDecoder extends Transform {
  #inner: Transform | null = null;
  #head: Buffer = Buffer.alloc(0);
  readonly #opts: zlib.ZlibOptions;

  constructor(opts: zlib.ZlibOptions) {
    super();
    this.#opts = opts;
  }

  #start(head: Buffer): Transform {
    const zlibWrapped = head.length >= 2 && (head[0]! & 0x0f) === 8 && ((head[0]! << 8) | head[1]!) % 31 === 0;
    const inner = zlibWrapped ? zlib.createInflate(this.#opts) : zlib.createInflateRaw(this.#opts);
    inner.on('data', (c: Buffer) => this.push(c));
    inner.on('error', (err) => this.destroy(err));
    this.#inner = inner;
    return inner;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (this.#inner) return void (this.#inner.write(chunk) ? done() : this.#inner.once('drain', done));
    this.#head = Buffer.concat([this.#head, chunk]);
    if (this.#head.length < 2) return done();
    const inner = this.#start(this.#head);
    const head = this.#head;
    this.#head = Buffer.alloc(0);
    if (inner.write(head)) done();
    else inner.once('drain', done);
  }

  override _flush(done: TransformCallback): void {
    const inner = this.#inner ?? (this.#head.length ? this.#start(this.#head) : null);
    if (!inner) return done();
    if (this.#head.length) inner.write(this.#head);
    inner.once('end', () => done());
    inner.once('error', (err) => done(err));
    inner.end();
  }
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
