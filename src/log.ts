import { pino, type Logger } from 'pino';

export type { Logger };

/** pino JSON lines on stderr. Components take a child logger; nothing logs a real secret value. */
export function createLogger(level = process.env.SANDCAT_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { svc: 'sandcat' }, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ fd: 2, sync: false }));
}
