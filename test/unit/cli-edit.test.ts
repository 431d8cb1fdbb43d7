/**
 * `sandcat edit` without a terminal, through the built CLI with a scripted $EDITOR: a valid settings
 * file is accepted; a broken one is reported with file and JSON path and the exit status is 1.
 * (The reopen/restore prompt on a terminal is driven in test/tty/.)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const REPO = join(import.meta.dirname, '..', '..');
const BUILT = existsSync(join(REPO, 'dist', 'cli', 'commands', 'edit.js'));
const root = mkdtempSync(join(tmpdir(), 'h6-edit-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function edit(what: string, newText: string | null, cwd: string) {
  const src = join(root, `new-${Math.random().toString(36).slice(2)}.json`);
  if (newText !== null) writeFileSync(src, newText);
  const editor = newText === null ? 'true' : `cp ${src}`;
  return spawnSync(process.execPath, [join(REPO, 'bin', 'sandcat'), 'edit', what], { cwd, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: join(root, 'home'), EDITOR: editor }, stdio: ['ignore', 'pipe', 'pipe'] });
}

describe.skipIf(!BUILT)('sandcat edit (needs npm run build)', () => {
  const project = join(root, 'proj');
  mkdirSync(join(project, '.sandcat'), { recursive: true });
  mkdirSync(join(project, 'sub'), { recursive: true });

  it('accepts a valid project settings file, from a subdirectory of the project', () => {
    const r = edit('project-settings', '{"network": [{"action": "allow", "host": "pypi.org"}]}\n', join(project, 'sub'));
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('valid; the proxy reloads it');
    expect(readFileSync(join(project, '.sandcat', 'settings.json'), 'utf8')).toContain('pypi.org');
  });

  it('reports a schema error with the JSON path and a fix, and exits 1 without a terminal', () => {
    const r = edit('project-settings', '{"network": [{"action": "permit", "host": "x.org"}]}\n', project);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('settings.json: at network[0].action');
    expect(r.stderr).toContain('use "action": "allow" or "action": "deny"');
    expect(r.stderr).toContain('saved but invalid; the proxy keeps its previous rules');
  });

  it('reports broken JSON with line and column', () => {
    const r = edit('local-settings', '{\n  "network": [\n    {"action": "allow", "host": "a.org"},\n  ]\n}\n', project);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/settings\.local\.json: is not valid JSON: .*line 4, column \d+/);
  });

  it('creates a missing user settings file privately before opening it', () => {
    const r = edit('user-settings', null, project);
    expect(r.status).toBe(0);
    const file = join(root, 'home', '.config', 'sandcat', 'settings.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ network: [] });
  });

  it('refuses an unknown target with the list of targets (exit 2)', () => {
    const r = edit('settings', null, project);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('project-settings, local-settings, user-settings, dockerfile, compose');
  });
});
