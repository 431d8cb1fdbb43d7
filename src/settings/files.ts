import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SettingsError } from '../errors.js';
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

function readIfPresent(file: string, warnings: string[]): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    if (code === 'EISDIR') {
      // Docker creates an empty directory when a bind-mounted host file does not exist.
      warnings.push(`${file} is a directory, not a settings file (Docker creates one when the host file is missing); skipped`);
      return null;
    }
    if (code === 'EACCES' || code === 'EPERM') throw new SettingsError(file, '', 'cannot be read (permission denied)', 'make the file readable by the user the proxy runs as, e.g. chmod a+r');
    throw new SettingsError(file, '', `cannot be read: ${(err as Error).message}`);
  }
}

/** Read all three layers (a missing file is skipped) and merge them. Throws SettingsError. */
export function loadSettings(paths: SettingsPaths): Settings {
  const readWarnings: string[] = [];
  const settings = mergeLayers(layerFiles(paths).map(({ layer, file }) => ({ layer, file, text: readIfPresent(file, readWarnings) })));
  settings.warnings.unshift(...readWarnings);
  return settings;
}
