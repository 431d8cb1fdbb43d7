/**
 * `sandcat init --existing` on realistic devcontainers written by the test: the user's Dockerfile and
 * compose files stay byte-identical, devcontainer.json keeps its comments, and the merged compose
 * configuration (checked with the real docker-compose when installed) puts the agent in the sandbox.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse as parseJsonc } from 'jsonc-parser';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { InitContext } from '../../src/cli/init/context.js';
import { runExisting } from '../../src/cli/init/existing.js';
import { shellSplit } from '../../src/cli/init/existing-compose.js';
import { reviewRunArgs } from '../../src/cli/init/existing-devcontainer.js';

const REPO = join(import.meta.dirname, '..', '..');

function hasDockerCompose(): boolean {
  try {
    execFileSync('docker-compose', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const DEVCONTAINER_COMPOSE = `// Team dev container: do not remove the db service
{
	"name": "shop",
	// compose file lives next to this one
	"dockerComposeFile": "docker-compose.yml",
	"service": "app",
	"workspaceFolder": "/workspaces/shop",
	/* keep the db running between sessions */
	"shutdownAction": "none",
	"customizations": {
		"vscode": {
			"extensions": ["ms-python.python"],
			"settings": { "terminal.integrated.allowLocalTerminal": true }
		}
	},
	"forwardPorts": [8000],
	"postAttachCommand": "make dev-setup",
}
`;

const COMPOSE = (withPorts: boolean, extra = '') => `version: "3.8"
services:
  app:
    build:
      context: ..
      dockerfile: .devcontainer/Dockerfile
    volumes:
      - ..:/workspaces/shop:cached
${withPorts ? '    ports:\n      - "8000:8000"\n' : ''}${extra}    command: sleep infinity
    depends_on: [db]
  db:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD: dev
`;

const DOCKERFILE = 'FROM python:3.12-slim\nRUN pip install poetry\nENTRYPOINT ["/usr/bin/tini", "--"]\n';

describe('sandcat init --existing', () => {
  let root: string;
  let project: string;
  let log: string[];
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'h6-existing-'));
    project = join(root, 'shop');
    mkdirSync(join(project, '.devcontainer'), { recursive: true });
    log = [];
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const ctx = (): InitContext => ({ projectDir: project, projectName: 'shop', version: '0.1.0', installDir: REPO, home: join(root, 'home'), git: { name: 'A', email: 'a@b' }, exists: () => false });
  const io = { log: (l: string) => log.push(l) };
  const write = (rel: string, text: string) => {
    mkdirSync(dirname(join(project, rel)), { recursive: true });
    writeFileSync(join(project, rel), text);
  };
  const read = (rel: string) => readFileSync(join(project, rel), 'utf8');
  const composeConfig = (files: string[]) =>
    parseYaml(execFileSync('docker-compose', files.flatMap((f) => ['-f', join(project, '.devcontainer', f)]).concat('config'), { encoding: 'utf8', env: { ...process.env, HOME: join(root, 'home') } })) as {
      services: Record<string, Record<string, unknown>>;
    };

  it('compose-based: adds an override, edits devcontainer.json keeping comments, leaves the user files byte-identical', async () => {
    write('.devcontainer/devcontainer.json', DEVCONTAINER_COMPOSE);
    write('.devcontainer/docker-compose.yml', COMPOSE(false));
    write('.devcontainer/Dockerfile', DOCKERFILE);
    expect(await runExisting(ctx(), io, { force: false, reset: false })).toBe(0);

    expect(read('.devcontainer/docker-compose.yml')).toBe(COMPOSE(false));
    expect(read('.devcontainer/Dockerfile')).toBe(DOCKERFILE);
    const dc = read('.devcontainer/devcontainer.json');
    for (const comment of ['// Team dev container', '// compose file lives next to this one', '/* keep the db running between sessions */']) expect(dc).toContain(comment);
    const data = parseJsonc(dc) as Record<string, any>;
    expect(data.dockerComposeFile).toEqual(['docker-compose.yml', 'compose-sandcat.yml']);
    expect(data.remoteEnv).toEqual({ SSH_AUTH_SOCK: '', GPG_AGENT_INFO: '', GIT_ASKPASS: '' });
    expect(data.customizations.vscode.settings['terminal.integrated.allowLocalTerminal']).toBe(true); // the user's choice is kept…
    expect(log.join('\n')).toContain('allowLocalTerminal is true; sandcat recommends false'); // …and called out
    expect(data.postAttachCommand).toEqual({ yours: 'make dev-setup', 'sandcat-sockets': expect.stringContaining('vscode-ssh-auth-') });
    expect(dc).toContain('\t"service": "app"'); // tabs stay tabs

    const override = parseYaml(read('.devcontainer/compose-sandcat.yml')) as { services: Record<string, any> };
    expect(Object.keys(override.services)).toEqual(['proxy', 'wg-client', 'app']);
    expect(override.services.app.network_mode).toBe('service:wg-client');
    expect(override.services.app.entrypoint).toEqual(['sh', '/sandcat/public/sandcat-agent-init.sh']);
    // The Dockerfile's ENTRYPOINT and the compose command still run, after sandcat's setup.
    expect(override.services.app.command).toEqual(['/usr/bin/tini', '--', 'sleep', 'infinity']);
    expect(override.services.app.volumes).toEqual(['sandcat-public:/sandcat/public:ro', '.:/workspaces/shop/.devcontainer:ro', '../.sandcat:/workspaces/shop/.sandcat:ro']);
    // The agent keeps only what sandcat's setup needs as root, and cannot gain more (no sudo).
    expect(override.services.app.cap_drop).toEqual(['ALL']);
    expect(override.services.app.cap_add).toEqual(['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'SETUID', 'SETGID']);
    expect(override.services.app.security_opt).toEqual(['no-new-privileges:true']);
    expect(override.services.proxy.volumes).toContain('../.sandcat:/config/project:ro');
    expect(read('.sandcat/settings.json')).toContain('"network"');
    expect(read('.gitignore')).toBe('.sandcat/settings.local.json\n');
  });

  it.skipIf(!hasDockerCompose())('compose-based: the merged configuration is valid for docker-compose v1 and sandboxes the agent', async () => {
    write('.devcontainer/devcontainer.json', DEVCONTAINER_COMPOSE);
    write('.devcontainer/docker-compose.yml', COMPOSE(false));
    write('.devcontainer/Dockerfile', DOCKERFILE);
    await runExisting(ctx(), io, { force: false, reset: false });
    const cfg = composeConfig(['docker-compose.yml', 'compose-sandcat.yml']);
    const app = cfg.services.app!;
    expect(app.network_mode).toBe('service:wg-client');
    expect(app.volumes).toEqual(
      expect.arrayContaining([
        'sandcat-public:/sandcat/public:ro',
        `${project}:/workspaces/shop:cached`,
        `${project}/.devcontainer:/workspaces/shop/.devcontainer:ro`,
        `${project}/.sandcat:/workspaces/shop/.sandcat:ro`,
      ]),
    );
    expect(app.depends_on).toEqual({ db: { condition: 'service_started' }, 'wg-client': { condition: 'service_healthy' } });
    expect(app.cap_drop).toEqual(['ALL']);
    expect(app.cap_add).not.toContain('NET_ADMIN');
    expect(app.security_opt).toContain('no-new-privileges:true');
    expect(cfg.services.db!.network_mode).toBeUndefined(); // siblings stay on the compose network
  });

  it('ports on the agent: moved to wg-client; without !reset the user is told exactly what to delete (exit 1)', async () => {
    write('.devcontainer/devcontainer.json', DEVCONTAINER_COMPOSE);
    write('.devcontainer/docker-compose.yml', COMPOSE(true, '    hostname: shop\n'));
    write('.devcontainer/Dockerfile', DOCKERFILE);
    expect(await runExisting(ctx(), io, { force: false, reset: false })).toBe(1);
    const text = log.join('\n');
    expect(text).toContain('ACTION NEEDED');
    expect(text).toMatch(/"ports" \(\.devcontainer\/docker-compose\.yml:9\): .*delete it from "app": compose-sandcat\.yml already sets it on wg-client/);
    expect(text).toMatch(/"hostname" \(\.devcontainer\/docker-compose\.yml:11\)/);
    const override = parseYaml(read('.devcontainer/compose-sandcat.yml')) as { services: Record<string, any> };
    expect(override.services['wg-client'].ports).toEqual(['8000:8000']);
    expect(read('.devcontainer/docker-compose.yml')).toBe(COMPOSE(true, '    hostname: shop\n'));
  });

  it('after deleting the ports as asked, running it again (with or without --force) keeps them on wg-client', async () => {
    write('.devcontainer/devcontainer.json', DEVCONTAINER_COMPOSE);
    write('.devcontainer/docker-compose.yml', COMPOSE(true));
    write('.devcontainer/Dockerfile', DOCKERFILE);
    expect(await runExisting(ctx(), io, { force: false, reset: false })).toBe(1);
    const first = read('.devcontainer/compose-sandcat.yml');
    write('.devcontainer/docker-compose.yml', COMPOSE(false)); // what ACTION NEEDED asked for
    log = [];
    // The first run's output is what this run would write: nothing to do, no failure.
    expect(await runExisting(ctx(), io, { force: false, reset: false })).toBe(0);
    expect(read('.devcontainer/compose-sandcat.yml')).toBe(first);
    expect(log.join('\n')).toMatch(/kept ports \["8000:8000"\] on wg-client: the previous compose-sandcat\.yml had moved it there from "app"/);
    expect(log.join('\n')).not.toContain('ACTION NEEDED');
    log = [];
    expect(await runExisting(ctx(), io, { force: true, reset: false })).toBe(0);
    const override = parseYaml(read('.devcontainer/compose-sandcat.yml')) as { services: Record<string, any> };
    expect(override.services['wg-client'].ports).toEqual(['8000:8000']);
    expect(read('.devcontainer/compose-sandcat.yml')).toBe(first);
  });

  it('a generated file edited since: says the first run\'s output is in place and what --force would change', async () => {
    write('.devcontainer/devcontainer.json', DEVCONTAINER_COMPOSE);
    write('.devcontainer/docker-compose.yml', COMPOSE(false));
    write('.devcontainer/Dockerfile', DOCKERFILE);
    expect(await runExisting(ctx(), io, { force: false, reset: false })).toBe(0);
    write('.devcontainer/compose-sandcat.yml', read('.devcontainer/compose-sandcat.yml').replace('    restart: unless-stopped\n', '    restart: unless-stopped\n    mem_limit: 2g\n'));
    log = [];
    expect(await runExisting(ctx(), io, { force: false, reset: false })).toBe(1);
    const text = log.join('\n');
    expect(text).toMatch(/already exists \(an earlier sandcat init --existing, maybe edited since\).*left in place.*--force would make these changes:/);
    expect(text).toMatch(/\.devcontainer\/compose-sandcat\.yml:\n\s+- mem_limit: 2g/);
    expect(read('.devcontainer/compose-sandcat.yml')).toContain('mem_limit: 2g');
  });

  it('with docker compose ≥ 2.24 the conflicting keys are removed with !reset (exit 0)', async () => {
    write('.devcontainer/devcontainer.json', DEVCONTAINER_COMPOSE);
    write('.devcontainer/docker-compose.yml', COMPOSE(true, '    hostname: shop\n'));
    write('.devcontainer/Dockerfile', DOCKERFILE);
    expect(await runExisting(ctx(), io, { force: false, reset: true })).toBe(0);
    const text = read('.devcontainer/compose-sandcat.yml');
    expect(text).toContain('    ports: !reset []');
    expect(text).toContain('    hostname: !reset null');
  });

  it('an agent with NET_ADMIN is always an action item: it could undo the kill switch', async () => {
    write('.devcontainer/devcontainer.json', DEVCONTAINER_COMPOSE);
    write('.devcontainer/docker-compose.yml', COMPOSE(false, '    cap_add: [SYS_PTRACE, NET_ADMIN]\n'));
    write('.devcontainer/Dockerfile', DOCKERFILE);
    expect(await runExisting(ctx(), io, { force: false, reset: true })).toBe(1);
    expect(log.join('\n')).toMatch(/"cap_add" .*NET_ADMIN would let the agent change the tunnel's firewall/);
  });

  it.skipIf(!hasDockerCompose())('the user\'s own harmless cap_add survives next to cap_drop ALL (compose merges the lists)', async () => {
    write('.devcontainer/devcontainer.json', DEVCONTAINER_COMPOSE);
    write('.devcontainer/docker-compose.yml', COMPOSE(false, '    cap_add: [SYS_PTRACE]\n'));
    write('.devcontainer/Dockerfile', DOCKERFILE);
    expect(await runExisting(ctx(), io, { force: false, reset: false })).toBe(0);
    const app = composeConfig(['docker-compose.yml', 'compose-sandcat.yml']).services.app!;
    expect(app.cap_drop).toEqual(['ALL']);
    expect([...(app.cap_add as string[])].sort()).toEqual(['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'SETGID', 'SETUID', 'SYS_PTRACE']);
  });

  it('capAdd NET_ADMIN or privileged in devcontainer.json (applied to compose too) is an action item, even with !reset', async () => {
    write('.devcontainer/devcontainer.json', '{\n  "dockerComposeFile": "docker-compose.yml",\n  "service": "app",\n  "capAdd": ["SYS_PTRACE", "NET_ADMIN"],\n  "privileged": true\n}\n');
    write('.devcontainer/docker-compose.yml', COMPOSE(false));
    write('.devcontainer/Dockerfile', DOCKERFILE);
    expect(await runExisting(ctx(), io, { force: false, reset: true })).toBe(1);
    const text = log.join('\n');
    expect(text).toContain('ACTION NEEDED in devcontainer.json');
    expect(text).toMatch(/"capAdd" \(\.devcontainer\/devcontainer\.json:4\): NET_ADMIN would let the agent change the tunnel's firewall/);
    expect(text).toMatch(/"privileged" \(\.devcontainer\/devcontainer\.json:5\)/);
    expect(read('.devcontainer/compose-sandcat.yml')).not.toContain('!reset');
  });

  it('running it twice changes nothing the second time', async () => {
    write('.devcontainer/devcontainer.json', DEVCONTAINER_COMPOSE);
    write('.devcontainer/docker-compose.yml', COMPOSE(false));
    write('.devcontainer/Dockerfile', DOCKERFILE);
    await runExisting(ctx(), io, { force: false, reset: false });
    const first = { dc: read('.devcontainer/devcontainer.json'), ov: read('.devcontainer/compose-sandcat.yml') };
    log = [];
    expect(await runExisting(ctx(), io, { force: false, reset: false })).toBe(0);
    expect(read('.devcontainer/devcontainer.json')).toBe(first.dc);
    expect(read('.devcontainer/compose-sandcat.yml')).toBe(first.ov);
    expect(log.join('\n')).toMatch(/unchanged\s+\.devcontainer\/devcontainer\.json/);
  });

  it('a compose file at the project root: paths are relative to it (the first file decides)', async () => {
    write('.devcontainer/devcontainer.json', '{ "dockerComposeFile": ["../docker-compose.yml"], "service": "dev", "workspaceFolder": "/src" }\n');
    write('docker-compose.yml', 'services:\n  dev:\n    image: mcr.microsoft.com/devcontainers/base:bookworm\n    volumes:\n      - .:/src\n    command: ["sleep", "infinity"]\n');
    expect(await runExisting(ctx(), io, { force: false, reset: false })).toBe(0);
    const override = parseYaml(read('.devcontainer/compose-sandcat.yml')) as { services: Record<string, any> };
    expect(override.services.dev.volumes).toEqual(['sandcat-public:/sandcat/public:ro', './.devcontainer:/src/.devcontainer:ro', './.sandcat:/src/.sandcat:ro']);
    expect(override.services.proxy.volumes).toContain('./.sandcat:/config/project:ro');
    expect((parseJsonc(read('.devcontainer/devcontainer.json')) as any).dockerComposeFile).toEqual(['../docker-compose.yml', 'compose-sandcat.yml']);
  });

  it('image-based: wraps the image in a compose service and explains what changed', async () => {
    const json = `{
  // Python image from the registry
  "name": "shop",
  "image": "mcr.microsoft.com/devcontainers/python:3.12",
  "runArgs": ["--cap-add=SYS_PTRACE"],
  "forwardPorts": [8000]
}
`;
    write('.devcontainer/devcontainer.json', json);
    expect(await runExisting(ctx(), io, { force: false, reset: false })).toBe(0);
    const dc = read('.devcontainer/devcontainer.json');
    expect(dc).toContain('// Python image from the registry');
    const data = parseJsonc(dc) as Record<string, any>;
    expect(data.image).toBeUndefined();
    expect(data.dockerComposeFile).toEqual(['compose-agent.yml', 'compose-sandcat.yml']);
    expect(data.service).toBe('agent');
    expect(data.workspaceFolder).toBe('/workspaces/shop');
    expect(data.forwardPorts).toEqual([8000]);
    const wrapper = parseYaml(read('.devcontainer/compose-agent.yml')) as { services: Record<string, any> };
    expect(wrapper.services.agent).toEqual({ image: 'mcr.microsoft.com/devcontainers/python:3.12', command: ['sleep', 'infinity'], volumes: ['..:/workspaces/shop:cached'] });
    const text = log.join('\n');
    expect(text).toContain('What changed: the devcontainer now starts through compose');
    expect(text).toContain('"runArgs" is not used with compose');
    if (hasDockerCompose()) {
      const cfg = composeConfig(['compose-agent.yml', 'compose-sandcat.yml']);
      expect(cfg.services.agent!.network_mode).toBe('service:wg-client');
      expect(cfg.services.agent!.volumes).toContain(`${project}/.sandcat:/workspaces/shop/.sandcat:ro`);
    }
  });

  it('image-based with runArgs --cap-add=NET_ADMIN / --privileged: ACTION NEEDED (exit 1), never advice to move them', async () => {
    const json = `{
  "image": "mcr.microsoft.com/devcontainers/base:bookworm",
  "runArgs": ["--cap-add=NET_ADMIN", "--cap-add", "NET_RAW", "--privileged", "-e", "A=1", "--cap-add=SYS_PTRACE"]
}
`;
    write('.devcontainer/devcontainer.json', json);
    expect(await runExisting(ctx(), io, { force: false, reset: true })).toBe(1);
    const text = log.join('\n');
    expect(text).toContain('ACTION NEEDED in devcontainer.json');
    for (const arg of ['--cap-add=NET_ADMIN', '--cap-add NET_RAW', '--privileged']) {
      expect(text).toContain(`"runArgs" (.devcontainer/devcontainer.json:3): ${arg}: `);
      expect(text).toContain(`delete "${arg}" from runArgs`);
    }
    // The "move it" note lists only the harmless flags.
    const note = log.find((l) => l.includes('"runArgs" is not used with compose'))!;
    expect(note).toContain('"-e", "A=1", "--cap-add=SYS_PTRACE"');
    expect(note).not.toMatch(/NET_ADMIN|NET_RAW|privileged/);
    expect(text).not.toContain('Next: sandcat run');
  });

  it('Dockerfile-based: the build moves into the wrapper with the right context and args', async () => {
    write('.devcontainer/devcontainer.json', '{ "build": { "dockerfile": "Dockerfile", "context": "..", "args": { "VARIANT": "3.12" } } }\n');
    write('.devcontainer/Dockerfile', DOCKERFILE);
    expect(await runExisting(ctx(), io, { force: false, reset: false })).toBe(0);
    const wrapper = parseYaml(read('.devcontainer/compose-agent.yml')) as { services: Record<string, any> };
    expect(wrapper.services.agent.build).toEqual({ context: '..', dockerfile: '.devcontainer/Dockerfile', args: { VARIANT: '3.12' } });
    expect(read('.devcontainer/Dockerfile')).toBe(DOCKERFILE);
  });

  it('no devcontainer: says to run init without --existing', async () => {
    rmSync(join(project, '.devcontainer'), { recursive: true });
    await expect(runExisting(ctx(), io, { force: false, reset: false })).rejects.toMatchObject({ code: 'E_NO_DEVCONTAINER', hint: expect.stringContaining('without --existing') });
  });

  it('a wrong "service" name lists the services there are', async () => {
    write('.devcontainer/devcontainer.json', '{ "dockerComposeFile": "docker-compose.yml", "service": "web" }');
    write('.devcontainer/docker-compose.yml', COMPOSE(false));
    await expect(runExisting(ctx(), io, { force: false, reset: false })).rejects.toMatchObject({ code: 'E_NO_SERVICE', hint: expect.stringContaining('app, db') });
  });
});

describe('reviewRunArgs', () => {
  it('separates what would undo the sandbox from what can move to compose', () => {
    const r = reviewRunArgs(['--cap-add=net_admin', '--cap-add', 'CAP_SYS_ADMIN', '--network=host', '--pid', 'host', '--privileged', '--cap-add=SYS_PTRACE', '-v', '/a:/b', '--init']);
    expect(r.dangerous.map((d) => d.arg)).toEqual(['--cap-add=net_admin', '--cap-add CAP_SYS_ADMIN', '--network=host', '--pid host', '--privileged']);
    expect(r.other).toEqual(['--cap-add=SYS_PTRACE', '-v', '/a:/b', '--init']);
  });
});

describe('shellSplit (compose string commands)', () => {
  it.each([
    ['sleep infinity', ['sleep', 'infinity']],
    [`sh -c 'echo "a b"; exit 0'`, ['sh', '-c', 'echo "a b"; exit 0']],
    ['run "two words" x\\ y', ['run', 'two words', 'x y']],
    ['  spaced   out ', ['spaced', 'out']],
  ])('%s', (input, want) => expect(shellSplit(input)).toEqual(want));
});
