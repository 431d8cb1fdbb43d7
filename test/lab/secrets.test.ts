/**
 * Issue 3 in the lab: secrets with real clients through the real tunnel and daemon.
 *  - `git clone` over HTTPS from a git smart-HTTP server (git http-backend) that requires Basic
 *    auth, with the token in the URL as a placeholder: the server sees the real token, the agent
 *    only ever holds the placeholder;
 *  - a placeholder in a query string is substituted;
 *  - a placeholder toward another allowed host is blocked (403, nothing upstream), and so is one
 *    in plain HTTP;
 *  - a real value an upstream reflects (in a header and a gzip body) reaches the agent as the
 *    placeholder;
 *  - a settings file edited while the daemon runs (editor-style rename, and in place) decides the
 *    next request, with no SIGHUP;
 *  - `sandcat check` gives the decision the daemon gave.
 * Clients speak HTTP/1.1 here (curl --http1.1, git http.version): this file is about where secrets
 * hide; HTTP/2 framing is the proxy's own tests' subject.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, createServedGitRepo, labSkipReason, onJsonLines, REPO_ROOT, stopChild, waitFor, type Lab } from './lib/index.js';

const skip = labSkipReason();
if (skip) console.warn(`skipping the secrets lab test: ${skip}`);

/**
 * Live reload on a file edit needs the daemon to call watchSettings (src/settings/watch.ts). Until
 * it does, that one test is skipped with this message instead of failing everyone's run.
 */
function daemonWatchesSettings(): boolean {
  const dir = join(REPO_ROOT, 'dist/daemon');
  try {
    return readdirSync(dir).some((f) => f.endsWith('.js') && readFileSync(join(dir, f), 'utf8').includes('watchSettings'));
  } catch {
    return false;
  }
}
const noWatch = daemonWatchesSettings() ? null : 'the daemon does not watch the settings files yet (src/daemon must call watchSettings)';
if (!skip && noWatch) console.warn(`skipping the live-reload lab test: ${noWatch}`);

const GIT_TOKEN = 'lab-git-token-REAL-4b1d07';
const API_KEY = 'lab-api-key-REAL-9c2e55';
const GIT_PH = 'SANDCAT_PLACEHOLDER_GIT_TOKEN';
const API_PH = 'SANDCAT_PLACEHOLDER_API_KEY';
const GIT_PORT = 9443;

const SETTINGS = {
  secrets: {
    GIT_TOKEN: { value: GIT_TOKEN, hosts: ['secret.allowed.test'] },
    API_KEY: { value: API_KEY, hosts: ['api.allowed.test'] },
  },
  network: [
    { action: 'allow', host: 'secret.allowed.test' },
    { action: 'allow', host: 'api.allowed.test' },
    { action: 'allow', host: 'other.allowed.test' },
  ],
};

interface GitServerEvent {
  kind: string;
  method?: string;
  path?: string;
  authorization?: string | null;
  user?: string | null;
  password?: string | null;
}

describe.skipIf(skip)('secrets in the lab (issue 3)', () => {
  let lab: Lab;
  let work: string;
  let server: ChildProcess | null = null;
  const serverEvents: GitServerEvent[] = [];

  /** A script in the agent namespace with sandcat.env sourced, as an agent's shell would run it. */
  const agent = (script: string) =>
    lab.exec('agent', 'bash', ['-c', `set -e\n. ${join(lab.dirs.public, 'sandcat.env')}\nexport HOME=${work}/agent-home GIT_TERMINAL_PROMPT=0 GIT_CONFIG_NOSYSTEM=1\n${script}`], { timeoutMs: 60_000 });
  const curl = (args: string) => agent(`curl -sS --http1.1 --cacert ${join(lab.dirs.public, 'ca.pem')} -m 20 ${args}`);

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'h4-secrets-lab-'));
    mkdirSync(join(work, 'agent-home'));
    const projectRoot = createServedGitRepo(work);

    lab = await createLab({ tag: 'h4s', settings: SETTINGS });
    const config = { port: GIT_PORT, certPem: lab.pki.certPem, keyPem: lab.pki.keyPem, token: GIT_TOKEN, projectRoot };
    server = lab.spawnUpstream(join(import.meta.dirname, 'secrets-git-server.mjs'), [], { ...process.env, SECRETS_SERVER_CONFIG: JSON.stringify(config) });
    onJsonLines<GitServerEvent>(server.stdout, (e) => serverEvents.push(e));
    await waitFor('the git server', () => serverEvents.some((e) => e.kind === 'ready'), 10_000);
  }, 180_000);

  afterAll(async () => {
    if (server) await stopChild(server, 'SIGTERM', 2000);
    await lab?.destroy();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('git clone over HTTPS with the token as a placeholder in the URL: Basic auth substituted', async () => {
    const url = `https://x-access-token:\${GIT_TOKEN}@secret.allowed.test:${GIT_PORT}/repo.git`;
    const r = await agent(`export GIT_SSL_CAINFO=${join(lab.dirs.public, 'ca.pem')}\necho "agent holds: $GIT_TOKEN"\ngit -c http.version=HTTP/1.1 clone -q "${url}" ${work}/clone\ncat ${work}/clone/README.md`);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`agent holds: ${GIT_PH}\ncloned through sandcat\n`);
    const git = serverEvents.filter((e) => e.kind === 'request' && e.path?.startsWith('/repo.git/'));
    expect(git.some((e) => e.authorization === null), 'git first asks without credentials and gets 401').toBe(true);
    const authed = git.filter((e) => e.password !== null);
    expect(authed.length).toBeGreaterThanOrEqual(2); // info/refs and git-upload-pack
    for (const e of authed) expect([e.user, e.password]).toEqual(['x-access-token', GIT_TOKEN]);
    // What the agent kept is the placeholder, never the token.
    expect(readFileSync(join(work, 'clone', '.git', 'config'), 'utf8')).toContain(`x-access-token:${GIT_PH}@secret.allowed.test`);
  });

  it('a placeholder in a query string is substituted, and the echoed value comes back as the placeholder', async () => {
    lab.clearUpstreamLog();
    const r = await curl(`"https://api.allowed.test/echo?key=$API_KEY&x=1"`);
    expect(r.code).toBe(0);
    const seen = lab.upstreamRequests({ host: 'api.allowed.test' });
    expect(seen.map((e) => e.path)).toEqual([`/echo?key=${API_KEY}&x=1`]);
    // The upstream echoed its request (with the real key) in the body; the agent reads the placeholder.
    expect(JSON.parse(r.stdout).path).toBe(`/echo?key=${API_PH}&x=1`);
    expect(r.stdout).not.toContain(API_KEY);
  });

  it('a reflected secret in a response header and a gzip body reaches the agent as the placeholder', async () => {
    const r = await curl(`--compressed -D - "https://secret.allowed.test:${GIT_PORT}/reflect?v=$GIT_TOKEN"`);
    expect(r.code).toBe(0);
    const reflect = serverEvents.filter((e) => e.path?.startsWith('/reflect'));
    expect(reflect.at(-1)?.path).toBe(`/reflect?v=${GIT_TOKEN}`);
    expect(r.stdout).toMatch(new RegExp(`^x-reflect: ${GIT_PH}\\r?$`, 'mi'));
    expect(r.stdout).toContain(`you sent: ${GIT_PH}\n`);
    expect(r.stdout).not.toContain(GIT_TOKEN);
  });

  it('a placeholder toward another allowed host is a leak: 403 naming the secret, nothing upstream', async () => {
    lab.clearUpstreamLog();
    const r = await curl(`-w '\\n%{http_code}' -H "Authorization: Bearer $API_KEY" https://other.allowed.test/echo`);
    expect(r.stdout.trim().split('\n').at(-1)).toBe('403');
    expect(r.stdout).toContain('API_KEY');
    expect(lab.upstreamRequests({ host: 'other.allowed.test' })).toEqual([]);
    // Without the placeholder the same host is fine: the 403 was about the secret.
    expect((await curl(`-o /dev/null -w '%{http_code}' https://other.allowed.test/`)).stdout).toBe('200');
  });

  it('a placeholder in plain HTTP is refused even toward the secret\'s own host', async () => {
    lab.clearUpstreamLog();
    const r = await curl(`-w '\\n%{http_code}' "http://api.allowed.test/echo?key=$API_KEY"`);
    expect(r.stdout.trim().split('\n').at(-1)).toBe('403');
    expect(r.stdout).toMatch(/plain-HTTP/);
    expect(lab.upstreamRequests({ host: 'api.allowed.test' })).toEqual([]);
  });

  it('sandcat check gives the decisions the daemon gave', () => {
    const check = (...args: string[]) => {
      try {
        return JSON.parse(execFileSync(process.execPath, [join(REPO_ROOT, 'bin/sandcat'), 'check', '--user-settings', lab.dirs.userSettings, '--project-dir', lab.dirs.project, ...args], { encoding: 'utf8' }));
      } catch (err) {
        return JSON.parse((err as { stdout: string }).stdout);
      }
    };
    expect(check('--request', 'GET', 'https://other.allowed.test/echo', '-H', `Authorization: Bearer ${API_PH}`)).toMatchObject({ decision: 'deny', status: 403, leak: 'API_KEY' });
    expect(check('--request', 'GET', `http://api.allowed.test/echo?key=${API_PH}`)).toMatchObject({ decision: 'deny', status: 403, leak: 'API_KEY' });
    expect(check('--request', 'GET', `https://x-access-token:${GIT_PH}@secret.allowed.test:${GIT_PORT}/repo.git/info/refs?service=git-upload-pack`)).toMatchObject({ decision: 'allow', substituted: ['GIT_TOKEN'] });
  });

  it('the daemon never logged a real value', () => {
    const text = lab.daemonLogText();
    expect(text.length).toBeGreaterThan(0);
    expect(text).not.toContain(GIT_TOKEN);
    expect(text).not.toContain(API_KEY);
  });

  it.skipIf(noWatch)('a settings file edited while the daemon runs decides the next request (no SIGHUP)', async () => {
    const reloads = () => lab.daemonLogs().filter((l) => l.event === 'reload').length;
    // --resolve skips the agent's DNS, so the proxy's HTTP decision shows even for a refused name.
    const status = async (host: string) => (await curl(`--resolve ${host}:443:${lab.ip.upstream4} -o /dev/null -w '%{http_code}' https://${host}/`)).stdout;
    expect(await status('www.allowed.test')).toBe('403');
    expect((await lab.agentDig('www.allowed.test')).status).toBe('REFUSED');

    // 1. The project file, saved the way editors do: a new file renamed over the old one.
    const before = reloads();
    const project = join(lab.dirs.project, 'settings.json');
    writeFileSync(`${project}.tmp`, JSON.stringify({ network: [{ action: 'allow', host: 'www.allowed.test' }] }));
    renameSync(`${project}.tmp`, project);
    await waitFor('the daemon to reload after the project file changed', () => reloads() > before, 15_000);
    expect(await status('www.allowed.test')).toBe('200');
    expect((await lab.agentDig('www.allowed.test')).status).toBe('NOERROR');

    // 2. The user file, written in place: a deny for other.allowed.test ahead of its allow.
    expect(await status('other.allowed.test')).toBe('200');
    const again = reloads();
    lab.writeSettings({ ...SETTINGS, network: [{ action: 'deny', host: 'other.allowed.test' }, ...SETTINGS.network] });
    await waitFor('the daemon to reload after the user file changed', () => reloads() > again, 15_000);
    expect(await status('other.allowed.test')).toBe('403');
    expect((await lab.agentDig('other.allowed.test')).status).toBe('REFUSED');
  });
});
