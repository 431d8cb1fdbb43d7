/**
 * Finding a project's compose files and the names compose and VS Code use for it, plus a drift check:
 * the services `sandcat init` generates must match docker/compose.yml, which the container tests run.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseFlags } from '../../src/cli/args.js';
import { COMPOSE_FILE_FLAG, composeArgv, describeProjectName, devcontainerProjectName, findProject, supportsReset } from '../../src/cli/compose-files.js';
import { sandcatServices } from '../../src/cli/init/templates/compose-sandcat.js';

const root = mkdtempSync(join(tmpdir(), 'h6-compose-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('devcontainerProjectName (what VS Code names the compose project)', () => {
  it.each([
    ['/home/u/My App', '/home/u/My App/.devcontainer/compose.yml', 'myapp_devcontainer'],
    ['/home/u/shop', '/home/u/shop/docker-compose.yml', 'shop'],
    ['/home/u/shop', '/home/u/shop/deploy/dev/compose.yml', 'dev'],
    ['/x/Web.Site-2', '/x/Web.Site-2/.devcontainer/a.yml', 'website-2_devcontainer'],
  ])('%s + %s → %s', (r, f, want) => expect(devcontainerProjectName(r, f)).toBe(want));
});

describe('findProject', () => {
  const proj = join(root, 'demo');
  mkdirSync(join(proj, '.devcontainer'), { recursive: true });
  mkdirSync(join(proj, 'src', 'deep'), { recursive: true });
  writeFileSync(join(proj, '.devcontainer', 'devcontainer.json'), '// c\n{ "dockerComposeFile": ["compose-sandcat.yml", "compose-agent.yml"], "service": "agent", "remoteUser": "vscode", "workspaceFolder": "/workspaces/demo", }\n');
  writeFileSync(join(proj, '.devcontainer', 'compose-sandcat.yml'), 'services: {}\n');
  writeFileSync(join(proj, '.devcontainer', 'compose-agent.yml'), 'services: {}\n');

  it('walks up from a subdirectory and keeps the file order', () => {
    const p = findProject(join(proj, 'src', 'deep'));
    expect(p.root).toBe(proj);
    expect(p.files).toEqual([join(proj, '.devcontainer', 'compose-sandcat.yml'), join(proj, '.devcontainer', 'compose-agent.yml')]);
    expect([p.service, p.user, p.workspaceFolder, p.projectName]).toEqual(['agent', 'vscode', '/workspaces/demo', 'demo_devcontainer']);
  });
  it('builds argv for v1 and v2; COMPOSE_PROJECT_NAME wins like it does for the IDE, decided once in findProject', () => {
    const p = findProject(proj, [], {});
    expect(composeArgv({ argv: ['docker-compose'], kind: 'v1', version: '1.29.2' }, p, ['ps'])).toEqual(['docker-compose', '-p', 'demo_devcontainer', '-f', p.files[0], '-f', p.files[1], 'ps']);
    expect(describeProjectName(p)).toBe('demo_devcontainer');
    const x = findProject(proj, [], { COMPOSE_PROJECT_NAME: 'Other.Stack' });
    expect([x.projectName, x.projectNameFrom, x.ownProjectName]).toEqual(['otherstack', 'COMPOSE_PROJECT_NAME', 'demo_devcontainer']);
    // What is shown is what compose is told: -p with the same name, never the environment behind its back.
    expect(composeArgv({ argv: ['docker', 'compose'], kind: 'v2', version: '2.29.0' }, x, ['up', '-d']).slice(0, 4)).toEqual(['docker', 'compose', '-p', 'otherstack']);
    expect(describeProjectName(x)).toBe("otherstack (from COMPOSE_PROJECT_NAME; this project's own is demo_devcontainer: unset COMPOSE_PROJECT_NAME to use it)");
    expect(findProject(proj, [], { COMPOSE_PROJECT_NAME: 'demo_devcontainer' }).projectNameFrom).toBe('COMPOSE_PROJECT_NAME');
    expect(describeProjectName(findProject(proj, [], { COMPOSE_PROJECT_NAME: 'demo_devcontainer' }))).toBe('demo_devcontainer');
  });
  it('says what to do when there is no project, or no compose file', () => {
    const hint = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        return (err as { hint?: string }).hint;
      }
      return 'no error';
    };
    expect(hint(() => findProject('/'))).toMatch(/run "sandcat init"/);
    const img = join(root, 'img', '.devcontainer');
    mkdirSync(img, { recursive: true });
    writeFileSync(join(img, 'devcontainer.json'), '{ "image": "debian" }');
    expect(hint(() => findProject(join(root, 'img')))).toMatch(/sandcat init --existing/);
  });
  it('the Docker quick start: docker/compose.yml in the current directory, compose\'s own project name, shells as the agent user', () => {
    const repo = join(import.meta.dirname, '..', '..');
    const p = findProject(repo, [], {});
    expect(p.files).toEqual([join(repo, 'docker', 'compose.yml')]);
    expect([p.service, p.user, p.workspaceFolder, p.projectName, p.settingsRoot]).toEqual(['agent', 'agent', '/workspace', 'docker', repo]);
    // No -p: the CLI sees the containers "docker compose -f docker/compose.yml up" created.
    expect(composeArgv({ argv: ['docker-compose'], kind: 'v1', version: '1.29.2' }, p, ['ps'])).toEqual(['docker-compose', '-f', join(repo, 'docker', 'compose.yml'), 'ps']);
    // SANDCAT_PROJECT moves the project layer, relative to the compose file as compose resolves it.
    expect(findProject(repo, [], { SANDCAT_PROJECT: '../examples' }).settingsRoot).toBe(join(repo, 'examples'));
  });
  it('-f / SANDCAT_COMPOSE_FILES name the files explicitly, relative to the current directory', () => {
    const plain = join(root, 'plain');
    mkdirSync(join(plain, 'ops'), { recursive: true });
    writeFileSync(join(plain, 'ops', 'a.yml'), 'services:\n  agent:\n    image: x\n    environment: ["SANDCAT_AGENT_USER=dev"]\n');
    writeFileSync(join(plain, 'ops', 'b.yml'), 'services: {}\n');
    const { values } = parseFlags({ file: COMPOSE_FILE_FLAG }, [], { SANDCAT_COMPOSE_FILES: 'ops/a.yml:ops/b.yml' });
    expect(values.file).toEqual(['ops/a.yml', 'ops/b.yml']);
    const p = findProject(plain, values.file, {});
    expect(p.files).toEqual([join(plain, 'ops', 'a.yml'), join(plain, 'ops', 'b.yml')]);
    expect([p.user, p.projectName, p.passName]).toEqual(['dev', 'ops', false]);
    expect(parseFlags({ file: COMPOSE_FILE_FLAG }, ['-f', 'x.yml', '--file', 'y.yml']).values.file).toEqual(['x.yml', 'y.yml']);
    expect(() => findProject(plain, ['missing.yml'], {})).toThrow(/missing\.yml does not exist/);
  });
  it('with nothing found, the error says what to pass for the quick start', () => {
    const empty = join(root, 'empty');
    mkdirSync(empty, { recursive: true });
    expect(() => findProject(empty, [], {})).toThrow(expect.objectContaining({ hint: expect.stringContaining('-f docker/compose.yml') }));
  });
  it('reports a JSONC syntax error with its line', () => {
    const bad = join(root, 'bad', '.devcontainer');
    mkdirSync(bad, { recursive: true });
    writeFileSync(join(bad, 'devcontainer.json'), '{\n  "service": "a"\n  "x": 1\n}');
    expect(() => findProject(join(root, 'bad'))).toThrow(/line 3/);
  });
});

describe('supportsReset', () => {
  it.each([
    ['v1', '1.29.2', false],
    ['v2', '2.23.3', false],
    ['v2', '2.24.0', true],
    ['v2', '2.30.1', true],
    ['v2', '3.0.0', true],
  ] as const)('%s %s → %s', (kind, version, want) => expect(supportsReset({ kind, version })).toBe(want));
});

describe('generated sandcat services agree with docker/compose.yml', () => {
  const reference = parseYaml(readFileSync(join(import.meta.dirname, '..', '..', 'docker', 'compose.yml'), 'utf8')) as { services: Record<string, Record<string, unknown>> };
  const generated = parseYaml(sandcatServices({ version: '0.1.0', installDir: '/opt/sandcat', projectSettingsDir: '../.sandcat', features: [] })) as { services: Record<string, Record<string, unknown>> };
  // Everything but where the image and the host files come from must be the same.
  const SAME = ['command', 'init', 'cap_drop', 'cap_add', 'devices', 'sysctls', 'dns', 'environment', 'healthcheck', 'depends_on', 'restart'];
  for (const svc of ['proxy', 'wg-client']) {
    for (const key of SAME) {
      it(`${svc}.${key}`, () => expect(generated.services[svc]![key]).toEqual(reference.services[svc]![key]));
    }
    it(`${svc}: the same volume targets and modes`, () => {
      // Host parts may hold "${VAR:-default}", so take the target (and mode) from the end.
      const targets = (s: Record<string, unknown>) => (s.volumes as string[]).map((v) => /:(\/[^:]*(?::ro|:rw)?)$/.exec(v)?.[1]).sort();
      expect(targets(generated.services[svc]!)).toEqual(targets(reference.services[svc]!));
    });
  }
  it('the agent runs the same init script the example agent does', () => {
    const agent = reference.services.agent!;
    expect(agent.entrypoint).toEqual(['sh', '/sandcat/public/sandcat-agent-init.sh']);
  });
});
