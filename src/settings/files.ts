import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mergeLayers, type RawLayer } from './merge.js';
import type { Settings } from './model.js';

export interface SettingsPaths {
  /** ~/.config/sandcat/settings.json on the host; /config/settings.json in the container. */
  userFile: string;
  /** The project's .sandcat directory: holds settings.json and settings.local.json. */
  projectDir: string;
}

export function layerFiles(paths: SettingsPaths): { layer: RawLayer['layer']; file: string }[] {
  return [
    { layer: 'user', file: paths.userFile },
    { layer: 'project', file: join(paths.projectDir, 'settings.json') },
    { layer: 'local', file: join(paths.projectDir, 'settings.local.json') },
  ];
}

function readIfPresent(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw err;
  }
}

/** Read all three layers (a missing file is skipped) and merge them. Throws SettingsError. */
export function loadSettings(paths: SettingsPaths): Settings {
  return mergeLayers(layerFiles(paths).map(({ layer, file }) => ({ layer, file, text: readIfPresent(file) })));
}
