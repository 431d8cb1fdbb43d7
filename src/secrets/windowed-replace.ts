import { Transform, type TransformCallback } from 'node:stream';

const EMPTY = Buffer.alloc(0);

export interface WindowedReplaceOptions {
  /** The byte strings that may need replacing (placeholders, or secret values). */
  needles: readonly Buffer[];
  /** The same needles as one alternation, longest first, over latin1 text. */
  pattern: RegExp | null;
  /** Rewrite a latin1 text in which every match is whole. May throw (a leak); the stream then errors. */
  replace: (text: string, final: boolean) => string;
}

/**
 * Byte-exact streaming find-and-replace with a bounded carry, so a needle split across chunks is
 * still found. Holds back at most (longest needle − 1) bytes between chunks.
 *
 * A match is accepted only once every longer alternative had its full length available, so the
 * longest needle wins at every split point (`…_AB` over `…_A`). The fast path, taken for nearly
 * every chunk of a large body, is one `Buffer.indexOf` per needle and no copies.
 */
export class WindowedReplace extends Transform {
  #carry: Buffer = EMPTY;
  readonly #window: number;
  readonly #needles: readonly Buffer[];
  readonly #re: RegExp | null;
  readonly #replace: WindowedReplaceOptions['replace'];

  constructor(options: WindowedReplaceOptions) {
    super();
    this.#needles = options.needles.filter((n) => n.length > 0);
    this.#window = Math.max(0, ...this.#needles.map((n) => n.length)) - 1;
    this.#re = options.pattern && this.#needles.length ? new RegExp(options.pattern.source, 'g') : null;
    this.#replace = options.replace;
  }

  override _transform(chunk: Buffer | string, encoding: BufferEncoding, done: TransformCallback): void {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk;
    if (!this.#re) return done(null, buf);
    const data = this.#carry.length ? Buffer.concat([this.#carry, buf]) : buf;
    // Hold back only a tail that could still grow into a needle, so small writes (server-sent
    // events, interactive streams) are not delayed until more data arrives.
    let cut = data.length - this.#partialTail(data);
    if (!this.#needles.some((n) => data.indexOf(n) !== -1)) {
      this.#carry = cut < data.length ? Buffer.from(data.subarray(cut)) : EMPTY; // a copy: never pin a large buffer
      return cut > 0 ? done(null, data.subarray(0, cut)) : done();
    }
    // Slow path: extend the cut past any match that starts before it, so no match is ever split.
    const text = data.toString('latin1');
    const re = this.#re;
    re.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(text)) !== null) {
      if (m.index >= cut) break;
      if (m.index + m[0].length > cut) cut = m.index + m[0].length;
    }
    this.#carry = Buffer.from(data.subarray(cut));
    try {
      done(null, Buffer.from(this.#replace(text.slice(0, cut), false), 'latin1'));
    } catch (err) {
      done(err as Error);
    }
  }

  /** Length of the longest tail of `data` that is a proper prefix of some needle (0: none). */
  #partialTail(data: Buffer): number {
    for (let k = Math.min(this.#window, data.length); k > 0; k--) {
      const start = data.length - k;
      for (const n of this.#needles) {
        if (n.length > k && data[start] === n[0] && data.compare(n, 0, k, start, data.length) === 0) return k;
      }
    }
    return 0;
  }

  override _flush(done: TransformCallback): void {
    const rest = this.#carry;
    this.#carry = EMPTY;
    if (!rest.length) return done();
    try {
      done(null, Buffer.from(this.#replace(rest.toString('latin1'), true), 'latin1'));
    } catch (err) {
      done(err as Error);
    }
  }
}
