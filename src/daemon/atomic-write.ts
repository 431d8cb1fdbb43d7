import { renameSync, writeFileSync } from 'node:fs';

/**
 * Write via temp file + rename in the same directory, so a reader (an agent sourcing
 * sandcat.env, a healthcheck looking for ready) sees the old file or the new one, never half.
 */
export function writeFileAtomic(file: string, content: string, mode = 0o644): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, content, { mode });
  renameSync(tmp, file);
}
