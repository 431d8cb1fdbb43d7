/**
 * `sandcat … | head -1`: when the reader leaves, the CLI stops quietly (exit 0, nothing on stderr)
 * instead of crashing on an unhandled EPIPE with a stack trace. Runs the built CLI in a real pipe.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';

const REPO = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'h10-epipe-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(() => {
  spawnSync('npx', ['tsc', '-p', '.'], { cwd: REPO, stdio: 'ignore' });
}, 180_000);

it('sandcat proxy --stdin | head -1: one line out, exit 0, no stack trace', () => {
  const line = JSON.stringify({ level: 30, time: '2024-01-01T10:00:00Z', msg: 'request', method: 'GET', host: 'a.example', path: '/', decision: 'allow', rule: 'user[0]', status: 200 });
  const log = join(dir, 'proxy.log');
  writeFileSync(log, `${line}\n`.repeat(5000));
  const r = spawnSync('bash', ['--norc', '--noprofile', '-c', `set -o pipefail; "${process.execPath}" "${join(REPO, 'bin', 'sandcat')}" proxy --stdin < "${log}" | head -1`], { encoding: 'utf8', env: { PATH: process.env.PATH, NO_COLOR: '1' } });
  expect(r.stdout).toBe('10:00:00 ALLOW GET    a.example/ 200 rule user[0]\n');
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
});
