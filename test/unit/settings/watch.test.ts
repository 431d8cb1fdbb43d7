import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, renameSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { watchSettings, type SettingsWatcher } from '../../../src/settings/index.js';

/** Real files, real fs.watch and polling; each test waits for the debounced callback or its absence. */
let dir: string;
let watcher: SettingsWatcher | null = null;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'h4-watch-'));
  mkdirSync(join(dir, 'project'));
});
afterEach(() => {
  watcher?.close();
  watcher = null;
  rmSync(dir, { recursive: true, force: true });
});

const user = () => join(dir, 'user.json');
const project = () => join(dir, 'project', 'settings.json');
const local = () => join(dir, 'project', 'settings.local.json');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Wait (up to 5 s, the machine is shared) until `n` callbacks came, then a little more for strays. */
async function settle(calls: unknown[], n: number): Promise<void> {
  for (let waited = 0; calls.length < n && waited < 5000; waited += 50) await sleep(50);
  await sleep(400);
}

function start(): string[][] {
  const calls: string[][] = [];
  watcher = watchSettings({ userFile: user(), projectDir: join(dir, 'project') }, (changed) => calls.push(changed), { debounceMs: 100, pollMs: 100 });
  return calls;
}

describe('watchSettings', () => {
  it('sees an editor-style save (write a temp file, rename it over the old one)', async () => {
    writeFileSync(project(), '{"network": []}');
    const calls = start();
    writeFileSync(project() + '.tmp', '{"network": [{"action": "allow", "host": "x"}]}');
    renameSync(project() + '.tmp', project());
    await settle(calls, 1);
    expect(calls).toEqual([[project()]]);
  });

  it('sees an in-place write, and a burst of writes is one callback', async () => {
    writeFileSync(user(), '{}');
    const calls = start();
    for (let i = 0; i < 5; i++) {
      writeFileSync(user(), JSON.stringify({ env: { N: String(i) } }));
      await sleep(10);
    }
    await settle(calls, 1);
    expect(calls).toEqual([[user()]]);
  });

  it('ignores a touch that changes no content, and siblings in the same directory', async () => {
    writeFileSync(user(), '{}');
    const calls = start();
    utimesSync(user(), new Date(), new Date(Date.now() + 5000));
    writeFileSync(join(dir, 'other.json'), 'x');
    writeFileSync(join(dir, 'project', 'notes.txt'), 'x');
    await sleep(600);
    expect(calls).toEqual([]);
  });

  it('sees a file appear and disappear', async () => {
    const calls = start();
    writeFileSync(local(), '{}');
    await settle(calls, 1);
    unlinkSync(local());
    await settle(calls, 2);
    expect(calls).toEqual([[local()], [local()]]);
  });

  it('sees a file in a directory that did not exist when watching started (polling)', async () => {
    rmSync(join(dir, 'project'), { recursive: true });
    const calls = start();
    mkdirSync(join(dir, 'project'));
    writeFileSync(project(), '{}');
    await settle(calls, 1);
    expect(calls).toEqual([[project()]]);
  });

  it('calls nothing after close()', async () => {
    writeFileSync(user(), '{}');
    const calls = start();
    watcher!.close();
    watcher!.close(); // idempotent
    writeFileSync(user(), '{"env": {}}');
    await sleep(500);
    expect(calls).toEqual([]);
  });
});
