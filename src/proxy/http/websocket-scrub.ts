import { Transform, type TransformCallback } from 'node:stream';
import type { SecretVault } from '../../secrets/index.js';

/**
 * Scrubs real secret values out of the frames a WebSocket server sends (RFC 6455 §5), so an
 * upstream cannot hand a value to the agent inside a message. Server frames are unmasked, so the
 * payload bytes are the message bytes, provided no extension (permessage-deflate) was negotiated:
 * the proxy removes `Sec-WebSocket-Extensions` from the upgrade request and refuses a 101 that
 * names one anyway.
 *
 * A scrubbed payload may change length, so frames are re-framed rather than patched: each data
 * frame is re-emitted as one or more fragments carrying the scrubbed bytes seen so far, and the
 * message ends with the original FIN. One streaming scrubber runs per message, so a value split
 * across fragments or TCP reads is still found, and memory stays bounded by the scrubber's carry
 * whatever the frame size. Control frames (≤ 125 bytes) are scrubbed whole; a close reason or ping
 * payload that no longer fits is dropped. Anything that is not plain RFC 6455 from a server
 * (reserved bits, reserved opcodes, masked frames, a continuation with no message) errors the
 * stream, which closes both sides: bytes the proxy cannot parse are bytes it cannot scrub.
 */
export class WebSocketServerScrub extends Transform {
  readonly #vault: SecretVault;
  /** Header bytes of the frame being read (a header may arrive split across reads). */
  #head: Buffer = Buffer.alloc(0);
  /** The frame whose payload is being read, or null between frames. */
  #frame: { fin: boolean; opcode: number; remaining: number } | null = null;
  #control: Buffer[] = [];
  /** The data message in progress: its opcode, whether a fragment of it was emitted, its scrubber. */
  #message: { opcode: number; started: boolean; scrubber: Transform } | null = null;

  constructor(vault: SecretVault) {
    super();
    this.#vault = vault;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      let data = chunk;
      while (data.length > 0) {
        if (!this.#frame) {
          data = this.#readHead(data);
          continue;
        }
        const n = Math.min(this.#frame.remaining, data.length);
        this.#payload(data.subarray(0, n));
        data = data.subarray(n);
      }
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  /** Consume header bytes from `data`; returns the rest. Starts the frame once its header is whole. */
  #readHead(data: Buffer): Buffer {
    const head = this.#head.length ? Buffer.concat([this.#head, data]) : data;
    if (head.length < 2) {
      this.#head = Buffer.from(head);
      return Buffer.alloc(0);
    }
    const b0 = head[0]!;
    const b1 = head[1]!;
    const len7 = b1 & 0x7f;
    const size = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0);
    if (head.length < size) {
      this.#head = Buffer.from(head);
      return Buffer.alloc(0);
    }
    if (b0 & 0x70) throw new Error('WebSocket frame with reserved bits set (an extension the proxy did not negotiate)');
    if (b1 & 0x80) throw new Error('masked WebSocket frame from the server');
    let length = len7;
    if (len7 === 126) length = head.readUInt16BE(2);
    else if (len7 === 127) {
      const big = head.readBigUInt64BE(2);
      if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error('WebSocket frame too large');
      length = Number(big);
    }
    const fin = (b0 & 0x80) !== 0;
    const opcode = b0 & 0x0f;
    if (opcode >= 8) {
      if (opcode > 0xa) throw new Error(`reserved WebSocket opcode ${opcode}`);
      if (!fin || length > 125) throw new Error('invalid WebSocket control frame');
    } else if (opcode === 0) {
      if (!this.#message) throw new Error('WebSocket continuation frame outside a message');
    } else if (opcode === 1 || opcode === 2) {
      if (this.#message) throw new Error('WebSocket data frame inside an unfinished message');
      this.#message = { opcode, started: false, scrubber: this.#vault.responseScrubTransform() };
    } else throw new Error(`reserved WebSocket opcode ${opcode}`);
    this.#head = Buffer.alloc(0);
    this.#frame = { fin, opcode, remaining: length };
    if (length === 0) this.#endFrame();
    return head.subarray(size);
  }

  #payload(bytes: Buffer): void {
    const frame = this.#frame!;
    frame.remaining -= bytes.length;
    if (frame.opcode >= 8) this.#control.push(Buffer.from(bytes));
    else this.#emitData(run(this.#message!.scrubber, bytes), false);
    if (frame.remaining === 0) this.#endFrame();
  }

  #endFrame(): void {
    const frame = this.#frame!;
    this.#frame = null;
    if (frame.opcode >= 8) {
      const payload = Buffer.concat(this.#control);
      this.#control = [];
      this.push(encodeFrame(true, frame.opcode, this.#scrubControl(frame.opcode, payload)));
      return;
    }
    if (frame.fin) {
      this.#emitData(run(this.#message!.scrubber, null), true);
      this.#message = null;
    }
  }

  /** Emit scrubbed message bytes as a fragment (the first one carries the message's opcode). */
  #emitData(bytes: Buffer, fin: boolean): void {
    const m = this.#message!;
    if (bytes.length === 0 && !fin) return;
    this.push(encodeFrame(fin, m.started ? 0 : m.opcode, bytes));
    m.started = true;
  }

  #scrubControl(opcode: number, payload: Buffer): Buffer {
    if (payload.length === 0) return payload;
    const out = Buffer.from(this.#vault.scrub(payload.toString('latin1'), true), 'latin1');
    if (out.length <= 125) return out;
    // A close frame keeps its status code; the (scrubbed) reason no longer fits.
    return opcode === 0x8 ? payload.subarray(0, 2) : Buffer.alloc(0);
  }

  override _flush(done: TransformCallback): void {
    // The server closed mid-message: what is held back is still scrubbed, but the message stays
    // unfinished, as the server left it.
    if (this.#message) {
      const rest = run(this.#message.scrubber, null);
      if (rest.length) this.#emitData(rest, false);
    }
    done();
  }
}

/** Run a (synchronous) streaming scrubber on one chunk, or flush it with null. */
function run(scrubber: Transform, bytes: Buffer | null): Buffer {
  const out: Buffer[] = [];
  let failure: Error | null = null;
  const collect = (err?: Error | null, data?: Buffer) => {
    if (err) failure = err;
    else if (data?.length) out.push(data);
  };
  if (bytes) scrubber._transform(bytes, 'buffer' as BufferEncoding, collect);
  else scrubber._flush(collect);
  if (failure) throw failure;
  return out.length === 1 ? out[0]! : Buffer.concat(out);
}

export function encodeFrame(fin: boolean, opcode: number, payload: Buffer): Buffer {
  const n = payload.length;
  const size = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const head = Buffer.allocUnsafe(size);
  head[0] = (fin ? 0x80 : 0) | opcode;
  if (n < 126) head[1] = n;
  else if (n < 65536) {
    head[1] = 126;
    head.writeUInt16BE(n, 2);
  } else {
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  return n === 0 ? head : Buffer.concat([head, payload]);
}
