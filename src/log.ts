import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Per-flow lines (one per request, per DNS lookup) are gathered up to this many bytes (or for
 * FLUSH_MS) and written together: a write(2) per line, through libuv's thread pool, was about a
 * tenth of the daemon's CPU under load. Every other line (start, reload, warnings) goes out at once.
 */
const BATCH_BYTES = 8192;
const FLUSH_MS = 100;
const BATCHED_MESSAGES = new Set(['request', 'dns lookup']);

/** pino JSON lines on stderr. Components take a child logger; nothing logs a real secret value. */
export function createLogger(level = process.env.SANDCAT_LOG_LEVEL ?? 'info'): Logger {
  const dest = pino.destination({ fd: 2, sync: false, minLength: BATCH_BYTES });
  // sonic-boom's flush() waits out a write in progress by itself; skip it when nothing is buffered
  // (an empty flush still costs a write) or the stream is gone (it throws). pino flushes
  // synchronously on exit; the interval bounds how late a quiet log is.
  const buffered = dest as unknown as { _len: number; destroyed: boolean };
  const flushNow = (): void => {
    if (!buffered.destroyed && buffered._len > 0) dest.flush();
  };
  setInterval(flushNow, FLUSH_MS).unref();
  return pino(
    {
      level,
      base: { svc: 'sandcat' },
      timestamp: pino.stdTimeFunctions.isoTime,
      hooks: {
        logMethod(args, method, levelValue) {
          method.apply(this, args);
          const batched = levelValue < 40 && BATCHED_MESSAGES.has(args[args.length - 1] as string);
          if (!batched) flushNow();
        },
      },
    },
    dest,
  );
}
