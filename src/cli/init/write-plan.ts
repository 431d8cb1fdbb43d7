import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { PlannedFile } from './plan.js';

export type WriteOutcome = { file: PlannedFile; result: 'wrote' | 'appended' | 'skipped' | 'unchanged'; reason?: string };

/**
 * Write a plan without ever replacing a file the user has unless `force` (and never a create-only
 * file). Reports each file's outcome so `init` can print what it wrote and what it left alone.
 */
export function writePlan(files: readonly PlannedFile[], force: boolean): WriteOutcome[] {
  return files.map((file) => writeOne(file, force));
}

function writeOne(file: PlannedFile, force: boolean): WriteOutcome {
  const present = existsSync(file.path);
  if (file.policy === 'append-line') {
    const current = present ? readFileSync(file.path, 'utf8') : '';
    const have = new Set(current.split(/\r?\n/).map((l) => l.trim()));
    const missing = file.content.split('\n').filter((l) => l && !have.has(l.trim()));
    if (missing.length === 0) return { file, result: 'unchanged', reason: 'already lists it' };
    const sep = current && !current.endsWith('\n') ? '\n' : '';
    mkdirSync(dirname(file.path), { recursive: true });
    writeFileSync(file.path, current + sep + missing.join('\n') + '\n');
    return { file, result: present ? 'appended' : 'wrote' };
  }
  if (present) {
    if (file.policy === 'create-only') return { file, result: 'skipped', reason: 'exists; never overwritten' };
    if (!force) {
      const same = readFileSync(file.path, 'utf8') === file.content;
      return same ? { file, result: 'unchanged' } : { file, result: 'skipped', reason: 'exists; --force overwrites' };
    }
  }
  // Private files get a private directory too (~/.config/sandcat holds the real secrets).
  mkdirSync(dirname(file.path), { recursive: true, mode: file.mode === 0o600 ? 0o700 : 0o755 });
  writeFileSync(file.path, file.content, { mode: file.mode ?? 0o644 });
  if (file.mode !== undefined) chmodSync(file.path, file.mode);
  return { file, result: 'wrote' };
}
