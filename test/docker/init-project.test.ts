/**
 * `sandcat init` end to end on a real Docker engine: generate a project in a temporary directory,
 * then drive it only through the CLI (`sandcat run -d`, `sandcat run`, `sandcat compose`,
 * `sandcat status`, `sandcat proxy`, `sandcat restart-proxy`), as a user would. The agent image is
 * the generated Dockerfile.app built FROM local/debian:bookworm (no registry), without stacks or an
 * agent CLI (those download at build time from the internet, which CI does not have).
 *
 * Skips, saying why, when no Docker engine can be had (see ./docker-env.ts).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareDocker, REPO, run, type RunResult } from './docker-env.js';

const docker = prepareDocker();
const BUILT = existsSync(join(REPO, 'dist', 'cli', 'main.js'));
if (!docker.ok) console.warn(`[test/docker/init-project] skipping: ${docker.reason}`);
else if (!BUILT) console.warn('[test/docker/init-project] skipping: run npm run build first');

const IMAGE = 'sandcat:test';
const DENIED = 'example.com';

describe.skipIf(!docker.ok || !BUILT)('sandcat init → sandcat run on the real engine', () => {
  let dir = '';
  let project = '';
  let env: NodeJS.ProcessEnv = {};
  let registry = '';
  const name = `h6proj${process.pid}`;

  const sandcat = (args: string[], opts: { timeoutMs?: number; input?: string } = {}): Promise<RunResult> =>
    run(process.execPath, [join(REPO, 'bin', 'sandcat'), ...args], { env, cwd: project, timeoutMs: opts.timeoutMs ?? 120_000, input: opts.input });
  const inAgent = (script: string, user = 'vscode') => sandcat(['compose', 'exec', '-T', '-u', user, 'agent', 'bash', '-lc', script], { timeoutMs: 90_000 });

  beforeAll(async () => {
    registry = (await run('npm', ['config', 'get', 'registry'])).stdout.trim() || 'https://registry.npmjs.org/';
    dir = mkdtempSync(join(tmpdir(), 'h6-docker-'));
    project = join(dir, name);
    mkdirSync(project);
    env = {
      ...process.env,
      HOME: join(dir, 'home'),
      SANDCAT_IMAGE: IMAGE,
      SANDCAT_BASE_IMAGE: 'local/node:20',
      SANDCAT_AGENT_BASE_IMAGE: 'local/debian:bookworm',
      NO_COLOR: '1',
    };
    delete env.COMPOSE_PROJECT_NAME;
    // With this set, docker-compose v1 runs `exec` through its Python client, which hangs on piped stdin.
    delete env.COMPOSE_INTERACTIVE_NO_CLI;
    const init = await sandcat(['init', '--agent', 'none', '--ide', 'vscode', '--stacks', '', '--features', '']);
    if (init.code !== 0) throw new Error(`sandcat init failed:\n${init.stdout}${init.stderr}`);
    // What a user does next: fill in the git identity, and allow the package registry locally.
    writeFileSync(
      join(dir, 'home', '.config', 'sandcat', 'settings.json'),
      JSON.stringify({ env: { GIT_USER_NAME: 'Init Test', GIT_USER_EMAIL: 'init@sandcat.invalid' }, secrets: { NPM_TOKEN: { value: 'real-npm-token', hosts: ['registry.invalid'] } }, network: [] }, null, 2),
    );
    writeFileSync(join(project, '.sandcat', 'settings.local.json'), JSON.stringify({ network: [{ action: 'allow', host: new URL(registry).hostname }] }, null, 2));
    // The proxy trusts this machine's CA bundle upstream (its egress may re-sign TLS): a user's own
    // addition to the agent compose file, which init leaves to them.
    writeFileSync(
      join(project, '.devcontainer', 'compose-ci.yml'),
      `version: "2.4"\nservices:\n  proxy:\n    environment:\n      NODE_EXTRA_CA_CERTS: /etc/ssl/host-ca-bundle.crt\n    volumes:\n      - /etc/ssl/certs/ca-certificates.crt:/etc/ssl/host-ca-bundle.crt:ro\n`,
    );
    const dcFile = join(project, '.devcontainer', 'devcontainer.json');
    const { readFileSync } = await import('node:fs');
    writeFileSync(dcFile, readFileSync(dcFile, 'utf8').replace('"compose-agent.yml"]', '"compose-agent.yml", "compose-ci.yml"]'));

    if ((await run('docker', ['image', 'inspect', IMAGE])).code !== 0) {
      const build = await run('docker', ['build', '-f', 'docker/Dockerfile', '--build-arg', 'BASE_IMAGE=local/node:20', '-t', IMAGE, '.'], { timeoutMs: 600_000 });
      if (build.code !== 0) throw new Error(`docker build failed:\n${(build.stdout + build.stderr).slice(-3000)}`);
    }
    const up = await sandcat(['run', '-d'], { timeoutMs: 600_000 });
    if (up.code !== 0) {
      const logs = await sandcat(['compose', 'logs', '--no-color', '--tail', '60']);
      throw new Error(`sandcat run -d failed:\n${up.stderr.slice(-3000)}\n--- logs ---\n${logs.stdout.slice(-5000)}`);
    }
    for (let i = 0; i < 60; i++) {
      if ((await inAgent('test -f /etc/profile.d/sandcat.sh', 'root')).code === 0) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }, 900_000);

  afterAll(async () => {
    if (project && docker.ok && BUILT) {
      const down = await sandcat(['compose', 'down', '-v', '--rmi', 'local', '--remove-orphans', '--timeout', '5']); // --rmi local: the built agent image
      if (down.code !== 0) console.warn(`[test/docker/init-project] compose down: ${down.stderr.slice(-500)}`);
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 180_000);

  it('sandcat run opens a login shell as the agent user, with sandcat.env and the git identity applied', async () => {
    const r = await sandcat(['run'], { input: 'id -un\necho "name=$GIT_USER_NAME token=$NPM_TOKEN"\ngit config --global user.email\npwd\nexit\n' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('vscode\n');
    expect(r.stdout).toContain('name=Init Test token=SANDCAT_PLACEHOLDER_NPM_TOKEN\n');
    expect(r.stdout).toContain('init@sandcat.invalid\n');
    expect(r.stdout).toContain(`/workspaces/${name}\n`);
    expect(r.stdout).not.toContain('real-npm-token');
  }, 120_000);

  // HTTP/1.1: this is about the CLI's wiring; HTTP/2 through the proxy is tested elsewhere.
  it('traffic goes through the proxy: the allowed registry works, other hosts are refused', async () => {
    const ok = await inAgent(`curl --http1.1 -sS -m 30 -o /dev/null -w '%{http_code}' ${registry.replace(/\/$/, '')}/is-number`);
    expect(ok.stdout.trim(), ok.stderr).toBe('200');
    const denied = await inAgent(`curl --http1.1 -sS -m 10 -o /dev/null -w '%{http_code}' --resolve ${DENIED}:443:192.0.2.1 https://${DENIED}/`);
    expect(denied.stdout.trim()).toBe('403');
    expect((await inAgent(`getent hosts ${DENIED}`)).code).not.toBe(0);
  }, 120_000);

  it('the sandbox configuration is read-only inside the agent, even for root', async () => {
    for (const path of [`/workspaces/${name}/.sandcat/settings.json`, `/workspaces/${name}/.devcontainer/devcontainer.json`]) {
      const r = await inAgent(`echo '{}' > ${path}`, 'root');
      expect(r.code, path).not.toBe(0);
      expect(r.stdout + r.stderr).toMatch(/Read-only file system/);
    }
    // The rest of the workspace stays writable.
    expect((await inAgent(`touch /workspaces/${name}/scratch && rm /workspaces/${name}/scratch`, 'root')).code).toBe(0);
  }, 60_000);

  it('sandcat status reports health, handshake, rules per layer, secret names (not values) and the denial', async () => {
    const r = await sandcat(['status'], { timeoutMs: 120_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^proxy\s+running, healthy$/m);
    expect(r.stdout).toMatch(/^wg-client\s+running, healthy$/m);
    expect(r.stdout).toMatch(/^tunnel\s+sandcat0: last handshake \d+s ago/m);
    expect(r.stdout).toMatch(/^local\s+\.sandcat\/settings\.local\.json: 1 rule$/m);
    expect(r.stdout).toMatch(/^secrets\s+NPM_TOKEN$/m);
    expect(r.stdout).not.toContain('real-npm-token');
    expect(r.stdout).toMatch(new RegExp(`DENY .*${DENIED.replace('.', '\\.')}`));
  }, 150_000);

  it('sandcat proxy --once --denied shows the refused host, readable', async () => {
    const r = await sandcat(['proxy', '--once', '--denied', '--tail', '500']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^\\d\\d:\\d\\d:\\d\\d DENY .*${DENIED.replace('.', '\\.')}`, 'm'));
    expect(r.stdout).not.toMatch(/ALLOW/);
  }, 60_000);

  it('sandcat restart-proxy reloads the settings and the agent keeps working without action', async () => {
    writeFileSync(join(project, '.sandcat', 'settings.local.json'), JSON.stringify({ network: [{ action: 'allow', host: new URL(registry).hostname }, { action: 'allow', host: DENIED }] }, null, 2));
    const r = await sandcat(['restart-proxy']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    let code = '';
    for (let i = 0; i < 10 && code !== '200'; i++) {
      await new Promise((res) => setTimeout(res, 1000));
      code = (await inAgent(`curl --http1.1 -sS -m 5 -o /dev/null -w '%{http_code}' ${registry.replace(/\/$/, '')}/is-number`)).stdout.trim();
    }
    expect(code).toBe('200');
    // The reload took (this machine cannot resolve most names upstream, so ask the daemon's log).
    const log = await sandcat(['proxy', '--once', '--tail', '200']);
    expect(log.stdout).toMatch(/settings reloaded: policy: 2 local/);
  }, 180_000);
});
