/**
 * The interactive paths, in a real pseudo-terminal (python3's pty module drives the built CLI):
 * `sandcat init` asks its questions with defaults and re-asks after a wrong answer; `sandcat edit`
 * offers to reopen or restore a settings file that fails validation.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseJsonc } from 'jsonc-parser';
import { afterAll, describe, expect, it } from 'vitest';

const REPO = join(import.meta.dirname, '..', '..');
const DRIVER = join(import.meta.dirname, 'pty-driver.py');
const BUILT = existsSync(join(REPO, 'dist', 'cli', 'commands', 'init.js'));
const PYTHON = spawnSync('python3', ['-c', 'import pty'], { stdio: 'ignore' }).status === 0;
const why = !BUILT ? 'run npm run build first' : 'python3 with the pty module is not installed';
if (!BUILT || !PYTHON) console.warn(`skipping terminal tests: ${why}`);

const root = mkdtempSync(join(tmpdir(), 'h6-tty-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function drive(steps: [string, string][], args: string[], env: Record<string, string> = {}, cwd = root) {
  const r = spawnSync('python3', [DRIVER, JSON.stringify(steps), process.execPath, join(REPO, 'bin', 'sandcat'), ...args], {
    encoding: 'utf8',
    cwd,
    env: { PATH: process.env.PATH, HOME: join(root, 'home'), TERM: 'dumb', NO_COLOR: '1', ...env },
    timeout: 60_000,
  });
  return { status: r.status, out: r.stdout };
}

describe.skipIf(!BUILT || !PYTHON)('terminal sessions', () => {
  it('init asks each question with its default, re-asks after a wrong answer, and writes the chosen setup', () => {
    const dir = join(root, 'webshop');
    mkdirSync(dir);
    const { status, out } = drive(
      [
        ['Agent (claude, codex, copilot, cursor, none) [claude]: ', 'codex\r'],
        ['IDE (vscode, jetbrains, none) [vscode]: ', '\r'],
        ['Stacks, comma-separated (node, python, java, rust, go, scala, ruby, dotnet) [none]: ', 'scala,cobol\r'],
        ['unknown stack "cobol"; choose one of: node, python, java, rust, go, scala, ruby, dotnet', ''],
        ['Stacks, comma-separated', 'scala\r'],
        ['Optional features (1password, tui) [none]: ', '\r'],
      ],
      ['init', '--dir', dir],
    );
    expect(out).toContain('sandcat init: agent codex, ide vscode, stacks java,scala, features none');
    expect(status).toBe(0);
    const dc = parseJsonc(readFileSync(join(dir, '.devcontainer', 'devcontainer.json'), 'utf8')) as { customizations: { vscode: { extensions: string[] } } };
    expect(dc.customizations.vscode.extensions).toEqual(['openai.chatgpt', 'vscjava.vscode-java-pack', 'scalameta.metals']);
    expect(readFileSync(join(dir, '.devcontainer', 'Dockerfile.app'), 'utf8')).toContain('RUN npm install -g @openai/codex');
  });

  it('init asks only what the flags leave open', () => {
    const dir = join(root, 'api');
    mkdirSync(dir);
    const { status, out } = drive([['Optional features (1password, tui) [none]: ', '1password\r']], ['init', '--dir', dir, '--agent', 'none', '--ide', 'none', '--stacks', 'go']);
    expect(status).toBe(0);
    expect(out).not.toContain('Agent (');
    expect(out).toContain('stacks go, features 1password');
  });

  it('edit: a broken settings file can be restored to its previous version', () => {
    const dir = join(root, 'edit-proj');
    mkdirSync(join(dir, '.sandcat'), { recursive: true });
    const good = '{"network": [{"action": "allow", "host": "pypi.org"}]}\n';
    writeFileSync(join(dir, '.sandcat', 'settings.json'), good);
    const broken = join(root, 'broken.json');
    writeFileSync(broken, '{"network": [{"host": "pypi.org"}]}\n');
    const { status, out } = drive([['[e]dit again, [r]estore the previous version, or [k]eep this broken file? [E/r/k] ', 'r\r']], ['edit', 'project-settings'], { EDITOR: `cp ${broken}` }, dir);
    expect(out).toContain('at network[0].action');
    expect(out).toContain('restored the previous version');
    expect(status).toBe(1);
    expect(readFileSync(join(dir, '.sandcat', 'settings.json'), 'utf8')).toBe(good);
  }, 60_000);
});
