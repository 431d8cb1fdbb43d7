/**
 * `sandcat run` builds as a step of its own, so a failed image build is reported as a build failure
 * (with what to do), not as containers that failed to start. Compose is a scripted stand-in
 * (SANDCAT_COMPOSE) that logs its calls; `docker image inspect` is the real one (the image names
 * are unique, so they are missing on any engine, or when there is no docker at all).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtImages } from '../../src/cli/commands/run.js';

const REPO = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'h10-run-'));
const calls = join(dir, 'calls.log');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(() => {
  spawnSync('npx', ['tsc', '-p', '.'], { cwd: REPO, stdio: 'ignore' });
  writeFileSync(join(dir, 'compose.yml'), 'services:\n  agent:\n    image: h10-never-built:1\n    build: .\n');
  const fake = join(dir, 'fake-compose');
  // Skips -p/-f and their values; the first other word is the compose command.
  writeFileSync(
    fake,
    `#!/bin/sh
while [ $# -gt 0 ]; do case "$1" in -p|-f) shift 2;; *) break;; esac; done
echo "$*" >> "${calls}"
case "$1" in
  version) echo 1.29.2;;
  config) printf 'services:\\n  agent:\\n    image: h10-never-built:1\\n    build: {context: .}\\n  db:\\n    image: postgres:16\\n';;
  build) if [ -n "$PROXY_PULL" ]; then echo "Building proxy"; echo "ERROR: Service 'proxy' failed to build : Get \"https://registry-1.docker.io/v2/\": dial tcp: lookup registry-1.docker.io: no such host" >&2; exit 1; fi
    echo "Step 5/9 : RUN mise use -g node@lts"; echo "ERROR: Service 'agent' failed to build : exit 127" >&2; [ -n "$BUILD_OK" ] || exit 1;;
  up) exit 0;;
esac
`,
  );
  chmodSync(fake, 0o755);
}, 180_000);

function run(args: string[], env: Record<string, string> = {}) {
  writeFileSync(calls, '');
  const r = spawnSync(process.execPath, [join(REPO, 'bin', 'sandcat'), 'run', ...args], { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: dir, SANDCAT_COMPOSE: join(dir, 'fake-compose'), ...env } });
  return { ...r, calls: readFileSync(calls, 'utf8').split('\n').filter((l) => l && !l.startsWith('version')) };
}

describe('sandcat run and image builds', () => {
  it('a failed build says the build failed, and nothing is started', () => {
    const r = run(['-d']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('building h10-never-built:1');
    expect(r.stderr).toMatch(/building the image of service "agent" failed \(exit 1\); the build output above says which step\n.*fix the agent's Dockerfile, then run "sandcat run --build"/);
    // compose's own output still reaches the terminal.
    expect(r.stdout).toContain('Step 5/9');
    expect(r.stderr).not.toContain('starting the containers failed');
    expect(r.calls).toEqual(['config', 'build']);
  });
  it('a sandcat image whose base image cannot be pulled: names the service and SANDCAT_BASE_IMAGE, not the agent Dockerfile', () => {
    writeFileSync(join(dir, 'compose.yml'), 'services:\n  agent:\n    image: h10-never-built:1\n    build: .\n  proxy:\n    image: h10-never-built:2\n    build:\n      context: /opt/sandcat\n      dockerfile: docker/Dockerfile\n      args:\n        BASE_IMAGE: ${SANDCAT_BASE_IMAGE:-node:20-bookworm-slim}\n');
    try {
      const r = run(['-d'], { PROXY_PULL: '1' });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('building sandcat\'s image (service "proxy"');
      expect(r.stderr).toContain('base image could not be pulled');
      expect(r.stderr).toContain('SANDCAT_BASE_IMAGE=<image>');
      expect(r.stderr).not.toContain('Fix the Dockerfile');
    } finally {
      writeFileSync(join(dir, 'compose.yml'), 'services:\n  agent:\n    image: h10-never-built:1\n    build: .\n');
    }
  });
  it('a good build, then up -d; --build always builds first', () => {
    const r = run(['-d'], { BUILD_OK: '1' });
    expect(r.calls).toEqual(['config', 'build', 'up -d']);
    // -d ends with what was started and what to do next.
    expect(r.stdout).toMatch(/sandcat run: started \(compose project h10-run-\w+\); "sandcat run" opens a shell/);
    expect(run(['--build', '-d'], { BUILD_OK: '1' }).calls).toEqual(['build', 'up -d']);
  });
  it('builtImages: the image tag, else compose\'s own name (v1 "_", v2 "-"); pulled images are not built', () => {
    const cfg = { services: { agent: { build: { context: '.' } }, proxy: { build: '.', image: 'sandcat:0.1.0' }, 'wg-client': { build: '.', image: 'sandcat:0.1.0' }, db: { image: 'postgres:16' } } };
    expect(builtImages(cfg, { kind: 'v1' }, 'shop_devcontainer')).toEqual(['shop_devcontainer_agent', 'sandcat:0.1.0']);
    expect(builtImages(cfg, { kind: 'v2' }, 'shop_devcontainer')).toEqual(['shop_devcontainer-agent', 'sandcat:0.1.0']);
  });
});
