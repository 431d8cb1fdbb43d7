/**
 * Settings warnings reach the user where they look, not only the daemon's log: `sandcat check` on
 * stderr, `sandcat edit` after a valid save, `sandcat status` in a warnings section. Rule pitfalls
 * (compilePolicy's warnings, e.g. "*github.com" also matching evilgithub.com) included.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settingsSummary } from '../../src/cli/commands/status.js';
import { settingsWarnings } from '../../src/cli/settings-warnings.js';
import { loadSettings } from '../../src/settings/index.js';

const REPO = join(import.meta.dirname, '..', '..');
const root = mkdtempSync(join(tmpdir(), 'h10-warn-'));
const project = join(root, 'proj');
const home = join(root, 'home');
const PITFALL = '{"network": [{"action": "allow", "host": "*github.com"}], "bogus": 1}\n';

beforeAll(() => {
  mkdirSync(join(project, '.sandcat'), { recursive: true });
  writeFileSync(join(project, '.sandcat', 'settings.json'), PITFALL);
  // The CLI runs from dist/: build it (npm test does this first).
  spawnSync('npx', ['tsc', '-p', '.'], { cwd: REPO, stdio: 'ignore' });
}, 180_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

function cli(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [join(REPO, 'bin', 'sandcat'), ...args], { cwd: project, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: home, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('settings warnings', () => {
  it('settingsWarnings: the loader\'s and the rule compiler\'s', () => {
    const w = settingsWarnings(loadSettings({ userFile: join(home, 'none.json'), projectDir: join(project, '.sandcat') }));
    expect(w.some((x) => /unknown key bogus/.test(x))).toBe(true);
    expect(w.some((x) => x.includes('settings.json: network[0].host:') && x.includes('evilgithub.com'))).toBe(true);
  });

  it('sandcat check prints the rule pitfall on stderr and still answers on stdout', () => {
    const r = cli(['check', '--user-settings', join(home, 'none.json'), '--project-dir', join(project, '.sandcat'), '--dns', 'github.com']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).decision).toBe('allow');
    expect(r.stderr).toMatch(/sandcat check: warning: .*settings\.json: network\[0\]\.host: /);
  });

  it('sandcat edit shows the warnings after a valid save', () => {
    const src = join(root, 'new.json');
    writeFileSync(src, '{"network": [{"action": "allow", "host": "*npmjs.org"}]}\n');
    const r = cli(['edit', 'local-settings'], { EDITOR: `cp ${src}` });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('valid; the proxy reloads it');
    expect(r.stderr).toMatch(/warning: .*settings\.local\.json: network\[0\]\.host: /);
  });

  it('sandcat status lists them in a warnings section', () => {
    const s = loadSettings({ userFile: join(home, 'none.json'), projectDir: join(project, '.sandcat') });
    const lines = settingsSummary(s, (f) => f);
    const at = lines.findIndex((l) => /^warnings \d+:$/.test(l));
    expect(at).toBeGreaterThan(-1);
    expect(lines.slice(at + 1).some((l) => /^ {2}.*network\[0\]\.host: /.test(l))).toBe(true);
    const clean = settingsSummary({ ...s, warnings: [], rules: [] }, (f) => f);
    expect(clean).toContain('warnings none');
  });
});
