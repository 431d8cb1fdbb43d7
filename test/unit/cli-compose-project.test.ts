/**
 * Every command acts on the same compose project, decided once (findProject): COMPOSE_PROJECT_NAME
 * when set, else the devcontainer's own name; and says which when the environment chose it.
 * Compose is a scripted stand-in (SANDCAT_COMPOSE) that logs the arguments it was given.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'h11-project-'));
const proj = join(dir, 'shop');
const calls = join(dir, 'calls.log');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(() => {
  spawnSync('npx', ['tsc', '-p', '.'], { cwd: REPO, stdio: 'ignore' });
  mkdirSync(join(proj, '.devcontainer'), { recursive: true });
  writeFileSync(join(proj, '.devcontainer', 'devcontainer.json'), '{ "dockerComposeFile": ["compose-sandcat.yml"], "service": "agent" }\n');
  writeFileSync(join(proj, '.devcontainer', 'compose-sandcat.yml'), 'services: {}\n');
  const fake = join(dir, 'fake-compose');
  writeFileSync(
    fake,
    `#!/bin/sh
[ "$1" = version ] && { echo 1.29.2; exit 0; }
echo "$*" >> "${calls}"
while [ $# -gt 0 ]; do case "$1" in -p|-f) shift 2;; *) break;; esac; done
case "$1" in
  ps) echo 0123456789abcdef0123;;
  exec) exit 1;;
esac
exit 0
`,
  );
  chmodSync(fake, 0o755);
}, 180_000);

function sandcat(args: string[], env: Record<string, string> = {}) {
  writeFileSync(calls, '');
  const r = spawnSync(process.execPath, [join(REPO, 'bin', 'sandcat'), ...args], {
    cwd: proj,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: dir, SANDCAT_COMPOSE: join(dir, 'fake-compose'), NO_COLOR: '1', ...env },
  });
  return { ...r, calls: readFileSync(calls, 'utf8').split('\n').filter(Boolean) };
}

const ENV = { COMPOSE_PROJECT_NAME: 'otherstack' };

describe('one compose project for every command', () => {
  it.each([
    [['restart-proxy']],
    [['compose', 'ps']],
    [['proxy', '--once']],
    [['status', '--denials', '0']],
  ])('%j: passes -p with the project name in use', (args) => {
    const own = sandcat(args);
    expect(own.calls.length).toBeGreaterThan(0);
    for (const c of own.calls) expect(c).toMatch(/^-p shop_devcontainer -f /);
    const other = sandcat(args, ENV);
    for (const c of other.calls) expect(c).toMatch(/^-p otherstack -f /);
  });
  it('status shows the name it acts on, and where it came from', () => {
    expect(sandcat(['status', '--denials', '0']).stdout).toMatch(/compose project shop_devcontainer;/);
    expect(sandcat(['status', '--denials', '0'], ENV).stdout).toContain("compose project otherstack (from COMPOSE_PROJECT_NAME; this project's own is shop_devcontainer");
  });
  it('restart-proxy says which compose project and container it signalled', () => {
    const r = sandcat(['restart-proxy']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Sent SIGHUP to the proxy \(container (?:.*, )?0123456789ab, compose project shop_devcontainer\)/);
    expect(r.calls.at(-1)).toMatch(/kill -s SIGHUP proxy$/);
    expect(sandcat(['restart-proxy'], ENV).stdout).toContain('compose project otherstack (from COMPOSE_PROJECT_NAME');
  });
  it('proxy and compose note on stderr when COMPOSE_PROJECT_NAME picks another project', () => {
    expect(sandcat(['compose', 'ps'], ENV).stderr).toContain('sandcat compose: compose project otherstack (from COMPOSE_PROJECT_NAME');
    expect(sandcat(['proxy', '--once'], ENV).stderr).toContain('sandcat proxy: compose project otherstack');
    expect(sandcat(['compose', 'ps']).stderr).toBe('');
  });
});
