/**
 * The compose files' security-relevant shape, as docker-compose itself resolves it (`config`), so
 * a refactor cannot quietly give the agent a capability or a key volume. Needs the compose CLI,
 * not an engine.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO } from './docker-env.js';

const composeCmd = ((): string[] | null => {
  if (spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0) return ['docker-compose'];
  if (spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0) return ['docker', 'compose'];
  return null;
})();
if (!composeCmd) console.warn('[test/docker] skipping compose config checks: no docker-compose or docker compose plugin');

interface Service {
  cap_add?: string[];
  cap_drop?: string[];
  network_mode?: string;
  volumes?: ({ source?: string; target: string; read_only?: boolean } | string)[];
  dns?: string[] | string;
  sysctls?: Record<string, string>;
  devices?: string[];
  depends_on?: Record<string, { condition: string }>;
  security_opt?: string[];
  entrypoint?: string[];
}

function resolved(dir: string, files: string[], envOverride: Record<string, string | undefined> = {}): { services: Record<string, Service> } {
  const env: NodeJS.ProcessEnv = { ...process.env, SANDCAT_HOME: REPO, SANDCAT_USER_CONFIG: '/nonexistent-h5/user', SANDCAT_PROJECT: '/nonexistent-h5/project', ...envOverride };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  const r = spawnSync(composeCmd![0], [...composeCmd!.slice(1), ...files.flatMap((f) => ['-f', f]), 'config'], { cwd: dir, encoding: 'utf8', env });
  if (r.status !== 0) throw new Error(`compose config failed: ${r.stderr}`);
  return parse(r.stdout) as { services: Record<string, Service> };
}

function mounts(s: Service): { source: string; target: string; ro: boolean }[] {
  return (s.volumes ?? []).map((v) => {
    if (typeof v === 'string') {
      const [source, target, mode] = v.split(':');
      return { source, target, ro: mode === 'ro' };
    }
    return { source: v.source ?? '', target: v.target, ro: !!v.read_only };
  });
}

function checkSandbox(services: Record<string, Service>, agentName: string, agentHome: string): void {
  const agent = services[agentName];
  expect(agent.network_mode).toBe('service:wg-client');
  expect(agent.cap_drop).toContain('ALL');
  expect(agent.cap_add ?? []).not.toContain('NET_ADMIN');
  expect(agent.cap_add ?? []).not.toContain('NET_RAW');
  expect(agent.security_opt).toContain('no-new-privileges:true');
  expect(agent.depends_on?.['wg-client']?.condition).toBe('service_healthy');
  expect(agent.entrypoint).toEqual(['sh', '/sandcat/public/sandcat-agent-init.sh']);
  const am = mounts(agent);
  expect(am.find((m) => m.target === '/sandcat/public')).toMatchObject({ source: expect.stringMatching(/sandcat-public$/), ro: true });
  expect(am.some((m) => /sandcat-(private|wg)$/.test(m.source))).toBe(false);
  expect(am.find((m) => m.target.endsWith('/.sandcat'))?.ro).toBe(true);
  expect(am.some((m) => m.target === agentHome)).toBe(true);

  const wg = services['wg-client'];
  expect(wg.cap_add).toEqual(['NET_ADMIN']);
  expect(wg.cap_drop).toContain('ALL');
  expect([wg.dns].flat()).toEqual(['10.77.0.1']);
  expect(wg.sysctls).toMatchObject({ 'net.ipv4.conf.all.src_valid_mark': '1', 'net.ipv6.conf.all.disable_ipv6': '0' });
  expect(wg.depends_on?.proxy?.condition).toBe('service_healthy');
  expect(mounts(wg).map((m) => [m.target, m.ro])).toEqual([['/sandcat/wg', true]]);

  const proxy = services.proxy;
  expect(proxy.cap_add).toEqual(['NET_ADMIN']);
  expect(proxy.devices).toEqual(['/dev/net/tun:/dev/net/tun']);
  const pm = mounts(proxy);
  for (const t of ['/config/user', '/config/project']) expect(pm.find((m) => m.target === t)?.ro, t).toBe(true);
  for (const t of ['/var/lib/sandcat', '/sandcat/wg', '/sandcat/public']) expect(pm.find((m) => m.target === t)?.ro, t).toBe(false);
}

describe('the documented way into the example agent', () => {
  it('is a shell as the agent user, everywhere it is written (not a root shell)', () => {
    for (const file of ['docker/compose.yml', 'docs/containers.md', 'README.md']) {
      const text = readFileSync(join(REPO, file), 'utf8');
      const shells = text.match(/exec (?:-u \S+ )?agent bash -l/g) ?? [];
      expect(shells.length, file).toBeGreaterThan(0);
      // containers.md may mention the root shell once, to say it has no NET_ADMIN either.
      expect(shells.filter((s) => !s.includes('-u agent')).length, file).toBeLessThanOrEqual(file === 'docs/containers.md' ? 1 : 0);
    }
  });
});

describe.skipIf(!composeCmd)('compose files as docker-compose resolves them', () => {
  it('docker/compose.yml: the agent has no NET_ADMIN/NET_RAW, no key volume, read-only settings', () => {
    checkSandbox(resolved(join(REPO, 'docker'), ['compose.yml']).services, 'agent', '/home/agent');
  });
  it('docker/compose.yml with no variables set: the agent can write nothing in the sandcat checkout', () => {
    // The quick start runs from the checkout, whose scripts/ the host runs as root and whose
    // docker/compose.yml defines the agent's capabilities: none of it may be writable inside.
    const { services } = resolved(join(REPO, 'docker'), ['compose.yml'], { SANDCAT_PROJECT: undefined });
    const am = mounts(services.agent);
    const binds = am.filter((m) => m.source.startsWith('/'));
    const overlaps = (p: string) => p === REPO || p.startsWith(`${REPO}/`) || REPO.startsWith(`${p}/`);
    expect(binds.filter((m) => !m.ro && overlaps(m.source))).toEqual([]);
    // The workspace is the agent's own named volume, and the checkout's .sandcat/ is read-only over it.
    expect(am.find((m) => m.target === '/workspace')).toMatchObject({ source: expect.stringMatching(/agent-workspace$/), ro: false });
    expect(am.find((m) => m.target === '/workspace/.sandcat')).toMatchObject({ source: join(REPO, '.sandcat'), ro: true });
  });
  it('examples/devcontainer: the three-file merge puts "app" in the same sandbox', () => {
    const dir = join(REPO, 'examples/devcontainer/.devcontainer');
    const { services } = resolved(dir, ['compose.yml', 'compose-sandcat.yml', 'compose-sandcat-app.yml']);
    checkSandbox(services, 'app', '/home/node');
    expect(mounts(services.app).find((m) => m.target === '/workspace/.devcontainer')?.ro).toBe(true);
    expect(services.db.network_mode).toBeUndefined();
  });
});
