import type { Transform } from 'node:stream';
import { normalizeHost } from '../policy/glob.js';
import { hostPatternMatcher } from '../policy/ip-literal.js';
import { SandcatError } from '../errors.js';
import { WindowedReplace } from './windowed-replace.js';

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

/**
 * A placeholder in a request that travels in cleartext (plain HTTP). Substituting there would let a
 * forged Host header pull a real key to whatever IP the agent dialled, so it is always refused.
 */
export class CleartextSecretError extends SandcatError {
  readonly secret: string;
  readonly host: string;
  constructor(secret: string, host: string) {
    super('E_SECRET_CLEARTEXT', `the placeholder for secret ${secret} is in a plain-HTTP request to ${host}; secrets are only substituted over HTTPS`, {
      hint: `use https://${host}/…`,
    });
    this.secret = secret;
    this.host = host;
  }
}

export type SubstitutionResult = { ok: true; text: string; substituted: string[] } | { ok: false; leak: string };

/** Where a placeholder occurs in a text. Names only: safe to log. */
export interface PlaceholderMatch {
  index: number;
  length: number;
  name: string;
}

/** One host, or every name a connection claims (SNI, Host, DNS name): a secret must allow each. */
export type Destination = string | readonly string[];

/** Values shorter than this are not scrubbed from responses: they would match by accident. */
export const MIN_SCRUB_LENGTH = 4;

const NOT_A_HOST = /[\0-\x20\x7f/\\@#?%"<>^`{|}]/;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** One alternation, longest first, so `…_AB` wins over `…_A` whatever the settings order. */
function alternation(words: readonly string[]): RegExp | null {
  if (words.length === 0) return null;
  const sorted = [...new Set(words)].sort((a, b) => b.length - a.length);
  return new RegExp(sorted.map(escapeRegExp).join('|'), 'g');
}

function destinations(d: Destination): string[] {
  return (typeof d === 'string' ? [d] : [...d]).map(normalizeHost);
}

interface Entry {
  secret: ResolvedSecret;
  /** IP patterns match IPs only and name patterns names only, as in the rules (policy/ip-literal.ts). */
  hostPatterns: ((host: string) => boolean)[];
  /** The value as a latin1 string of its UTF-8 bytes, for byte-exact work on Buffers. */
  valueBinary: string;
}

/**
 * The real values, and every operation that needs them. The proxy gets one per policy snapshot.
 * Text given to the `binary` variants is latin1 (one char per byte, as from `buf.toString('latin1')`
 * and as node hands over header values); placeholders are ASCII, so they look the same either way.
 */
export class SecretVault {
  readonly #byPlaceholder = new Map<string, Entry>();
  readonly #byName = new Map<string, Entry>();
  readonly #byValueBinary = new Map<string, Entry>();
  readonly #placeholderRe: RegExp | null;
  readonly #valueRe: RegExp | null;
  readonly #placeholderNeedles: Buffer[];
  readonly #valueNeedles: Buffer[];
  readonly maxPlaceholderLength: number;
  readonly maxValueLength: number;

  constructor(secrets: readonly ResolvedSecret[]) {
    for (const secret of secrets) {
      const entry: Entry = {
        secret,
        hostPatterns: secret.hosts.map((h) => hostPatternMatcher(normalizeHost(h))),
        valueBinary: Buffer.from(secret.value, 'utf8').toString('latin1'),
      };
      this.#byPlaceholder.set(secret.placeholder, entry);
      this.#byName.set(secret.name, entry);
      if (entry.valueBinary.length >= MIN_SCRUB_LENGTH) this.#byValueBinary.set(entry.valueBinary, entry);
    }
    this.#placeholderRe = alternation([...this.#byPlaceholder.keys()]);
    this.#valueRe = alternation([...this.#byValueBinary.keys()]);
    this.#placeholderNeedles = [...this.#byPlaceholder.keys()].map((p) => Buffer.from(p, 'latin1'));
    this.#valueNeedles = [...this.#byValueBinary.keys()].map((v) => Buffer.from(v, 'latin1'));
    this.maxPlaceholderLength = Math.max(0, ...this.#placeholderNeedles.map((p) => p.length));
    this.maxValueLength = Math.max(0, ...this.#valueNeedles.map((v) => v.length));
  }

  static readonly EMPTY = new SecretVault([]);

  get names(): string[] {
    return [...this.#byName.keys()];
  }

  /** Every placeholder, longest first. Not secret: the agent sees them all in sandcat.env. */
  get placeholders(): string[] {
    return [...this.#byPlaceholder.keys()].sort((a, b) => b.length - a.length);
  }

  get isEmpty(): boolean {
    return this.#byPlaceholder.size === 0;
  }

  get hasScrubbableValues(): boolean {
    return this.#valueRe !== null;
  }

  /** The placeholder of a secret, by name. */
  placeholderOf(name: string): string | undefined {
    return this.#byName.get(name)?.secret.placeholder;
  }

  /** Whether the secret `name` may go to the destination (every name it claims). */
  allowsHost(name: string, host: Destination): boolean {
    const entry = this.#byName.get(name);
    return entry !== undefined && this.#entryAllows(entry, destinations(host));
  }

  #entryAllows(entry: Entry, hosts: readonly string[]): boolean {
    // A name that cannot be a host (empty, control characters, URL syntax) never receives a value,
    // even under a "*" pattern.
    return hosts.length > 0 && hosts.every((h) => h !== '' && !NOT_A_HOST.test(h) && entry.hostPatterns.some((matches) => matches(h)));
  }

  /** Names of the secrets whose placeholders occur in `text`, in order of first occurrence. */
  scan(text: string): string[] {
    return [...new Set(this.matches(text).map((m) => m.name))];
  }

  /** Every placeholder occurrence in `text`, longest match first at each position. */
  matches(text: string): PlaceholderMatch[] {
    const re = this.#placeholderRe;
    if (!re || text.length === 0) return [];
    const out: PlaceholderMatch[] = [];
    for (const m of text.matchAll(re)) out.push({ index: m.index, length: m[0].length, name: this.#byPlaceholder.get(m[0])!.secret.name });
    return out;
  }

  /**
   * The value of `name` as UTF-8 bytes, for callers that must encode it themselves (URLs,
   * base64). Never log the result.
   */
  valueBytes(name: string): Buffer {
    const entry = this.#byName.get(name);
    if (!entry) throw new Error(`no secret named ${name}`);
    return Buffer.from(entry.valueBinary, 'latin1');
  }

  /**
   * Replace placeholders in `text` with real values for the destination. With `binary`, `text` is
   * latin1 (from a Buffer or a node header) and values go in as their UTF-8 bytes.
   * Any placeholder whose secret does not allow every destination name makes the result a leak.
   */
  substitute(text: string, host: Destination, binary = false): SubstitutionResult {
    return this.substituteWith(text, host, (name) => {
      const entry = this.#byName.get(name)!;
      return binary ? entry.valueBinary : entry.secret.value;
    });
  }

  /** Like `substitute`, but `write` renders each value (percent-encoding, for example). */
  substituteWith(text: string, host: Destination, write: (name: string) => string): SubstitutionResult {
    const re = this.#placeholderRe;
    if (!re || text.length === 0) return { ok: true, text, substituted: [] };
    re.lastIndex = 0;
    if (!re.test(text)) return { ok: true, text, substituted: [] };
    const hosts = destinations(host);
    const substituted = new Set<string>();
    let leak: string | null = null;
    re.lastIndex = 0;
    const out = text.replace(re, (p) => {
      const entry = this.#byPlaceholder.get(p)!;
      if (!this.#entryAllows(entry, hosts)) {
        leak ??= entry.secret.name;
        return p;
      }
      substituted.add(entry.secret.name);
      return write(entry.secret.name);
    });
    if (leak) return { ok: false, leak };
    return { ok: true, text: out, substituted: [...substituted] };
  }

  /**
   * Turn real values back into placeholders (responses the agent will read). With `binary`, `text`
   * is latin1 (bytes); otherwise a normal string.
   */
  scrub(text: string, binary = false): string {
    const re = this.#valueRe;
    if (!re || text.length === 0) return text;
    if (!binary) {
      const bytes = Buffer.from(text, 'utf8').toString('latin1');
      const out = this.scrub(bytes, true);
      return out === bytes ? text : Buffer.from(out, 'latin1').toString('utf8');
    }
    re.lastIndex = 0;
    if (!re.test(text)) return text;
    re.lastIndex = 0;
    return text.replace(re, (v) => this.#byValueBinary.get(v)!.secret.placeholder);
  }

  /** Names of the secrets whose real values occur in `text` (latin1 when `binary`). */
  scanValues(text: string, binary = false): string[] {
    const re = this.#valueRe;
    if (!re || text.length === 0) return [];
    const bytes = binary ? text : Buffer.from(text, 'utf8').toString('latin1');
    return [...new Set([...bytes.matchAll(re)].map((m) => this.#byValueBinary.get(m[0])!.secret.name))];
  }

  /**
   * A streaming substituter for request bodies toward `host`. Keeps back at most
   * (longest placeholder − 1) bytes between chunks so a split placeholder is still found.
   * Emits a SecretLeakError (and passes nothing further) if a placeholder may not go to `host`.
   */
  requestBodyTransform(host: Destination, onSubstituted?: (names: string[]) => void): Transform {
    const label = destinations(host).find((h) => h !== '') ?? '(no host)';
    return new WindowedReplace({
      needles: this.#placeholderNeedles,
      pattern: this.#placeholderRe,
      replace: (text) => {
        const r = this.substitute(text, host, true);
        if (!r.ok) throw new SecretLeakError(r.leak, this.#leakHost(r.leak, host, label));
        if (r.substituted.length && onSubstituted) onSubstituted(r.substituted);
        return r.text;
      },
    });
  }

  /** A streaming guard for cleartext request bodies: any placeholder errors the stream. */
  cleartextBodyGuard(host: string): Transform {
    return new WindowedReplace({
      needles: this.#placeholderNeedles,
      pattern: this.#placeholderRe,
      replace: (text) => {
        const [name] = this.scan(text);
        if (name) throw new CleartextSecretError(name, normalizeHost(host));
        return text;
      },
    });
  }

  /** A streaming scrubber for response bodies: real values become placeholders. */
  responseScrubTransform(): Transform {
    return new WindowedReplace({ needles: this.#valueNeedles, pattern: this.#valueRe, replace: (text) => this.scrub(text, true) });
  }

  /** The destination name that the secret does not allow, for the message. */
  #leakHost(name: string, host: Destination, fallback: string): string {
    const entry = this.#byName.get(name);
    if (!entry) return fallback;
    return destinations(host).find((h) => !this.#entryAllows(entry, [h])) ?? fallback;
  }

  /** Same as #leakHost, for helpers outside the class. */
  deniedHost(name: string, host: Destination): string {
    const all = destinations(host);
    return this.#leakHost(name, host, all[0] ?? '(no host)');
  }
}
