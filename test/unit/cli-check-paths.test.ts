/**
 * Where `sandcat check` looks for settings must be where the daemon looks: its container defaults
 * are the daemon's, and its help names the user file where sandcat's compose files put it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { CONTAINER_PROJECT_DIR, CONTAINER_USER_SETTINGS, help, settingsPaths } from '../../src/cli/commands/check.js';
import { DAEMON_FLAGS } from '../../src/daemon/options.js';

const REPO = join(import.meta.dirname, '..', '..');

describe('sandcat check settings paths', () => {
  it("container defaults are the daemon's", () => {
    expect(CONTAINER_USER_SETTINGS).toBe(DAEMON_FLAGS['user-settings'].default);
    expect(CONTAINER_PROJECT_DIR).toBe(DAEMON_FLAGS['project-dir'].default);
  });
  it('the help names the user file compose actually mounts', () => {
    const compose = parse(readFileSync(join(REPO, 'docker', 'compose.yml'), 'utf8')) as { services: { proxy: { environment: Record<string, string> } } };
    const userFile = compose.services.proxy.environment.SANDCAT_USER_SETTINGS!;
    expect(userFile).toBe('/config/user/settings.json');
    expect(help).toContain(userFile);
    expect(readFileSync(join(REPO, 'docs', 'settings.md'), 'utf8')).toContain(`| \`${userFile}\` |`);
  });
  it('flags win over every default', () => {
    expect(settingsPaths({ 'user-settings': 'u.json', 'project-dir': 'p' }, '/w')).toEqual({ userFile: '/w/u.json', projectDir: '/w/p' });
  });
});
