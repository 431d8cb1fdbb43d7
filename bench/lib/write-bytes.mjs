/**
 * Write `bytes` bytes of `chunk`'s content to `stream` in chunk-sized writes, waiting for 'drain'
 * whenever the stream asks to (backpressure), then end it.
 */
export function writeBytes(stream, bytes, chunk) {
  let left = bytes;
  const pump = () => {
    while (left > 0) {
      const n = Math.min(left, chunk.length);
      left -= n;
      if (!stream.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return stream.once('drain', pump);
    }
    stream.end();
  };
  pump();
}
