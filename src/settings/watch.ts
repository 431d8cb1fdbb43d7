import { createHash } from 'node:crypto';
import { readFileSync, unwatchFile, watch, watchFile, type FSWatcher, type Stats } from 'node:fs';
import { basename, dirname } from 'node:path';
import { layerFiles, type SettingsPaths } from './files.js';

export interface SettingsWatcher {
  /** Stop watching. Idempotent. */
  close(): void;
}

export interface WatchOptions {
  /** Quiet time after the last event before onChange fires. Default 250 ms. */
  debounceMs?: number;
  /** Polling interval of the fallback. Default 1000 ms. */
  pollMs?: number;
}

/** What a file holds right now, or that it is missing; compared to drop events that change nothing. */
function signature(file: string): string {
  try {
    return createHash('sha256').update(readFileSync(file)).digest('hex');
  } catch (err) {
    return `missing:${(err as NodeJS.ErrnoException).code ?? 'error'}`;
  }
}

/**
 * Call `onChange(files)` when any of the settings files changes content, appears or disappears.
 *
 * - The files' directories are watched, not the files: editors save by writing a new file and
 *   renaming it over the old one, which a watch on the old inode never sees.
 * - Each file is also polled (`fs.watchFile`): a single file bind-mounted into a container
 *   (`~/.config/sandcat/settings.json:/config/settings.json`) gets no directory events for writes
 *   made on the host, and a directory that does not exist yet cannot be watched at all.
 * - Events are debounced (an editor's save is several events) and compared by content, so
 *   touching a file or an event for a sibling does not trigger a reload.
 * Nothing here keeps the process alive.
 */
export function watchSettings(paths: SettingsPaths | readonly string[], onChange: (changed: string[]) => void, options: WatchOptions = {}): SettingsWatcher {
  const files = Array.isArray(paths) ? [...(paths as readonly string[])] : layerFiles(paths as SettingsPaths).map((l) => l.file);
  const debounceMs = options.debounceMs ?? 250;
  const pollMs = options.pollMs ?? 1000;
  const last = new Map(files.map((f) => [f, signature(f)]));
  const pending = new Set<string>();
  const watchers: FSWatcher[] = [];
  let timer: NodeJS.Timeout | null = null;
  let closed = false;

  const flush = () => {
    timer = null;
    if (closed) return;
    const changed: string[] = [];
    for (const f of pending) {
      const now = signature(f);
      if (now !== last.get(f)) {
        last.set(f, now);
        changed.push(f);
      }
    }
    pending.clear();
    if (changed.length) onChange(changed);
  };
  const poke = (file: string) => {
    if (closed) return;
    pending.add(file);
    if (timer) clearTimeout(timer);
    timer = setTimeout(flush, debounceMs);
    timer.unref();
  };

  const byDir = new Map<string, string[]>();
  for (const f of files) byDir.set(dirname(f), [...(byDir.get(dirname(f)) ?? []), f]);
  for (const [dir, inDir] of byDir) {
    try {
      const w = watch(dir, { persistent: false }, (_event, name) => {
        const hit = name ? inDir.filter((f) => basename(f) === name.toString()) : inDir;
        for (const f of hit) poke(f);
      });
      w.on('error', () => w.close()); // the directory went away; polling still covers the files
      watchers.push(w);
    } catch {
      // Missing directory: polling covers it.
    }
  }
  const pollers = files.map((f) => {
    const listener = (cur: Stats, prev: Stats) => {
      if (cur.mtimeMs !== prev.mtimeMs || cur.size !== prev.size || cur.ino !== prev.ino) poke(f);
    };
    watchFile(f, { interval: pollMs, persistent: false }, listener);
    return { f, listener };
  });

  return {
    close() {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      for (const w of watchers) w.close();
      for (const { f, listener } of pollers) unwatchFile(f, listener);
    },
  };
}
