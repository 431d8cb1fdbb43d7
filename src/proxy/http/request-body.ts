import { finished, PassThrough, pipeline, Transform, type Readable, type TransformCallback } from 'node:stream';
import { CleartextSecretError, requestBodyPlan, SecretLeakError, type SecretVault } from '../../secrets/index.js';

/**
 * How much of a request body is read and checked before anything is sent upstream. A body that
 * fits is checked whole, so a leaking placeholder in it means nothing at all reaches the upstream.
 * Larger bodies are streamed after this prefix; a leak further on aborts the upstream request
 * before the leaking chunk is written.
 */
export const BODY_GATE_BYTES = 64 * 1024;

/** A fixed-length body whose substituted length would no longer match its Content-Length. */
export class LengthChangedError extends Error {}

export type PreparedBody =
  | { ok: true; body: Readable | Buffer; contentLength: number | undefined }
  | { ok: false; kind: 'leak' | 'cleartext'; secret: string; message: string }
  | { ok: false; kind: 'encoding'; message: string }
  | { ok: false; kind: 'aborted'; error: Error };

/** Errors if the byte count differs from `expected` (a declared Content-Length we kept). */
class LengthGuard extends Transform {
  #seen = 0;
  constructor(readonly expected: number) {
    super();
  }
  override _transform(chunk: Buffer, _e: BufferEncoding, done: TransformCallback): void {
    this.#seen += chunk.length;
    if (this.#seen > this.expected) return done(new LengthChangedError('substitution changed the length of a fixed-length body'));
    done(null, chunk);
  }
  override _flush(done: TransformCallback): void {
    done(this.#seen === this.expected ? null : new LengthChangedError('substitution changed the length of a fixed-length body'));
  }
}

/** A body-stage error as a refusal (secret) or an abort (anything else). */
export function bodyErrorToFailure(err: unknown): PreparedBody & { ok: false } {
  if (err instanceof CleartextSecretError) return { ok: false, kind: 'cleartext', secret: err.secret, message: err.message };
  if (err instanceof SecretLeakError) return { ok: false, kind: 'leak', secret: err.secret, message: err.message };
  return { ok: false, kind: 'aborted', error: err as Error };
}

export function isSecretError(err: unknown): err is SecretLeakError | CleartextSecretError {
  return err instanceof SecretLeakError || err instanceof CleartextSecretError;
}

/**
 * Prepare a request body for upstream with the secrets' body plan (decode, substitute toward
 * `host` over TLS or refuse any placeholder in cleartext, re-encode), holding back the first
 * BODY_GATE_BYTES until they are checked. With an empty vault the body passes untouched.
 */
export async function prepareBody(
  source: Readable,
  o: { vault: SecretVault; host: string; tls: boolean; contentEncoding: string | undefined; contentLength: number | undefined; onSubstituted: (names: string[]) => void },
): Promise<PreparedBody> {
  const plan = requestBodyPlan(o.vault, { contentEncoding: o.contentEncoding, host: o.host, tls: o.tls, onSubstituted: o.onSubstituted });
  if (!plan.ok) {
    source.resume(); // drain; the response says why
    return { ok: false, kind: 'encoding', message: plan.message };
  }
  if (plan.transforms.length === 0) return { ok: true, body: source, contentLength: o.contentLength };
  const out = chainFromAgent(source, plan.transforms);

  const gated = await readPrefix(out, BODY_GATE_BYTES);
  if (!gated.ok) return bodyErrorToFailure(gated.error);
  if (gated.ended) {
    const buf = gated.chunks.length === 1 ? gated.chunks[0]! : Buffer.concat(gated.chunks);
    return { ok: true, body: buf, contentLength: buf.length };
  }
  const rest = new PassThrough();
  for (const c of gated.chunks) rest.write(c);
  out.on('error', (err) => rest.destroy(err));
  out.pipe(rest);
  out.resume();
  if (!plan.lengthMayChange) return { ok: true, body: rest, contentLength: o.contentLength };
  if (o.contentEncoding === undefined && o.contentLength !== undefined) {
    // Keep the declared length (some servers insist on it) and fail the upload if it would change.
    const guard = new LengthGuard(o.contentLength);
    rest.on('error', (err) => guard.destroy(err));
    return { ok: true, body: rest.pipe(guard), contentLength: o.contentLength };
  }
  return { ok: true, body: rest, contentLength: undefined };
}

/**
 * The agent's body through the transforms. Unlike pipeline(), an error in a transform (a leaking
 * placeholder) never destroys the agent's stream: that would reset it (an h2 RST, or the HTTP/1.1
 * socket) before the 403 that says why could be sent. The rest of the upload is drained instead.
 */
function chainFromAgent(source: Readable, transforms: Transform[]): Readable {
  const head = transforms[0]!;
  const out = transforms.length === 1 ? head : (pipeline(transforms as unknown as [Transform, Transform], () => {}) as unknown as Readable);
  finished(source, { writable: false }, (err) => {
    if (err) head.destroy(err);
  });
  source.pipe(head);
  out.once('error', () => {
    source.unpipe(head);
    source.resume();
  });
  return out;
}

function readPrefix(src: Readable, limit: number): Promise<{ ok: true; chunks: Buffer[]; ended: boolean } | { ok: false; error: Error }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      src.off('data', onData);
      src.off('end', onEnd);
      src.off('error', onError);
    };
    const onData = (c: Buffer) => {
      chunks.push(c);
      size += c.length;
      if (size >= limit) {
        cleanup();
        src.pause();
        resolve({ ok: true, chunks, ended: false });
      }
    };
    const onEnd = () => {
      cleanup();
      resolve({ ok: true, chunks, ended: true });
    };
    const onError = (error: Error) => {
      cleanup();
      resolve({ ok: false, error });
    };
    src.on('data', onData);
    src.once('end', onEnd);
    src.once('error', onError);
  });
}
