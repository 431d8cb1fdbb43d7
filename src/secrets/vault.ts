import { Transform, type TransformCallback } from 'node:stream';
import { globToRegExp, normalizeHost } from '../policy/glob.js';
import { SandcatError } from '../errors.js';

/** A secret with its real value known. Only the proxy holds these; nothing logs `value`. */
export interface ResolvedSecret {
  name: string;
  placeholder: string;
  value: string;
  hosts: readonly string[];
}

/** A placeholder was about to go somewhere its secret may not go. Carries the name, never the value. */
export class SecretLeakError extends SandcatError {
  readonly secret: string;
  readonly host: string;
  constructor(secret: string, host: string) {
    super('E_SECRET_LEAK', `the placeholder for secret ${secret} may not be sent to ${host}`, {
      hint: `add "${host}" to secrets.${secret}.hosts if this host should receive it`,
    });
    this.secret = secret;
    this.host = host;
  }
}

export type SubstitutionResult = { ok: true; text: string; substituted: string[] } | { ok: false; leak: string };

/** Values shorter than this are not scrubbed from responses: they would match by accident. */
const MIN_SCRUB_LENGTH = 4;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** One alternation, longest first, so `…_AB` wins over `…_A` whatever the settings order. */
function alternation(words: readonly string[]): RegExp | null {
  if (words.length === 0) return null;
  const sorted = [...new Set(words)].sort((a, b) => b.length - a.length);
  return new RegExp(sorted.map(escapeRegExp).join('|'), 'g');
}

interface Entry {
  secret: ResolvedSecret;
  hostPatterns: RegExp[];
  /** The value as a latin1 string of its UTF-8 bytes, for byte-exact work on Buffers. */
  valueBinary: string;
}

export class SecretVault {
  readonly #byPlaceholder = new Map<string, Entry>();
  readonly #byValueBinary = new Map<string, Entry>();
  readonly #placeholderRe: RegExp | null;
  readonly #valueRe: RegExp | null;
  readonly maxPlaceholderLength: number;
  readonly maxValueLength: number;

  constructor(secrets: readonly ResolvedSecret[]) {
    for (const secret of secrets) {
      const entry: Entry = {
        secret,
        hostPatterns: secret.hosts.map((h) => globToRegExp(normalizeHost(h))),
        valueBinary: Buffer.from(secret.value, 'utf8').toString('latin1'),
      };
      this.#byPlaceholder.set(secret.placeholder, entry);
      if (secret.value.length >= MIN_SCRUB_LENGTH) this.#byValueBinary.set(entry.valueBinary, entry);
    }
    this.#placeholderRe = alternation([...this.#byPlaceholder.keys()]);
    this.#valueRe = alternation([...this.#byValueBinary.keys()]);
    this.maxPlaceholderLength = Math.max(0, ...[...this.#byPlaceholder.keys()].map((p) => p.length));
    this.maxValueLength = Math.max(0, ...[...this.#byValueBinary.keys()].map((v) => v.length));
  }

  static readonly EMPTY = new SecretVault([]);

  get names(): string[] {
    return [...this.#byPlaceholder.values()].map((e) => e.secret.name);
  }

  get isEmpty(): boolean {
    return this.#byPlaceholder.size === 0;
  }

  allowsHost(name: string, host: string): boolean {
    const entry = [...this.#byPlaceholder.values()].find((e) => e.secret.name === name);
    if (!entry) return false;
    const h = normalizeHost(host);
    return entry.hostPatterns.some((p) => p.test(h));
  }

  #entryAllows(entry: Entry, host: string): boolean {
    return entry.hostPatterns.some((p) => p.test(host));
  }

  /** Names of the secrets whose placeholders occur in `text`. */
  scan(text: string): string[] {
    if (!this.#placeholderRe || text.length === 0) return [];
    const names = new Set<string>();
    for (const m of text.matchAll(this.#placeholderRe)) names.add(this.#byPlaceholder.get(m[0])!.secret.name);
    return [...names];
  }

  /**
   * Replace placeholders in `text` with real values for `host`. `text` may be a latin1 "binary"
   * string (from a Buffer) when `binary` is set, so values go in as their UTF-8 bytes.
   * Any placeholder whose secret does not allow `host` makes the whole result a leak.
   */
  substitute(text: string, host: string, binary = false): SubstitutionResult {
    const re = this.#placeholderRe;
    if (!re || text.length === 0) return { ok: true, text, substituted: [] };
    re.lastIndex = 0;
    if (!re.test(text)) return { ok: true, text, substituted: [] };
    const h = normalizeHost(host);
    const substituted = new Set<string>();
    let leak: string | null = null;
    re.lastIndex = 0;
    const out = text.replace(re, (p) => {
      const entry = this.#byPlaceholder.get(p)!;
      if (!this.#entryAllows(entry, h)) {
        leak ??= entry.secret.name;
        return p;
      }
      substituted.add(entry.secret.name);
      return binary ? entry.valueBinary : entry.secret.value;
    });
    if (leak) return { ok: false, leak };
    return { ok: true, text: out, substituted: [...substituted] };
  }

  /** Turn real values back into placeholders (responses the agent will read). */
  scrub(text: string, binary = false): string {
    const re = this.#valueRe;
    if (!re || text.length === 0) return text;
    re.lastIndex = 0;
    return text.replace(re, (v) => {
      const entry = binary ? this.#byValueBinary.get(v) : [...this.#byValueBinary.values()].find((e) => e.secret.value === v);
      return entry ? entry.secret.placeholder : v;
    });
  }

  /**
   * A streaming substituter for request bodies toward `host`. Keeps back at most
   * (longest placeholder − 1) bytes between chunks so a split placeholder is still found.
   * Emits a SecretLeakError (and passes nothing further) if a placeholder may not go to `host`.
   */
  requestBodyTransform(host: string, onSubstituted?: (names: string[]) => void): Transform {
    return new WindowedReplace(this.maxPlaceholderLength, (text, final) => {
      const r = this.substitute(text, host, true);
      if (!r.ok) throw new SecretLeakError(r.leak, normalizeHost(host));
      if (r.substituted.length && onSubstituted) onSubstituted(r.substituted);
      return r.text;
    }, this.#placeholderRe);
  }

  /** A streaming scrubber for response bodies: real values become placeholders. */
  responseScrubTransform(): Transform {
    return new WindowedReplace(this.maxValueLength, (text) => this.scrub(text, true), this.#valueRe);
  }

  get hasScrubbableValues(): boolean {
    return this.#valueRe !== null;
  }
}

/**
 * Byte-exact streaming replace with a bounded carry. Works on latin1 strings so every byte maps to
 * one char. A match is accepted only if it starts early enough that every longer alternative had
 * its full length available; the rest is carried into the next chunk.
 */
class WindowedReplace extends Transform {
  #carry = '';
  readonly #window: number;
  readonly #replace: (text: string, final: boolean) => string;
  readonly #re: RegExp | null;

  constructor(maxLength: number, replace: (text: string, final: boolean) => string, re: RegExp | null) {
    super();
    this.#window = Math.max(0, maxLength - 1);
    this.#replace = replace;
    this.#re = re ? new RegExp(re.source, 'g') : null;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (!this.#re) return done(null, chunk);
    const text = this.#carry + chunk.toString('latin1');
    let cut = text.length - this.#window;
    if (cut <= 0) {
      this.#carry = text;
      return done();
    }
    // Extend the cut past any match that starts before it, so a match is never split.
    this.#re.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = this.#re.exec(text)) !== null) {
      if (m.index >= cut) break;
      if (m.index + m[0].length > cut) cut = m.index + m[0].length;
    }
    this.#carry = text.slice(cut);
    try {
      const out = this.#replace(text.slice(0, cut), false);
      done(null, Buffer.from(out, 'latin1'));
    } catch (err) {
      done(err as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    if (!this.#carry) return done();
    try {
      const out = this.#replace(this.#carry, true);
      this.#carry = '';
      done(null, Buffer.from(out, 'latin1'));
    } catch (err) {
      done(err as Error);
    }
  }
}
