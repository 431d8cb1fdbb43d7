/** `sandcat init` choices from flags and their SANDCAT_* twins, and what init does with them on disk. */
import { mkdtempSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseFlags } from '../../src/cli/args.js';
import { choicesFromFlags, flags, runInit, type InitIo } from '../../src/cli/commands/init.js';
import type { InitContext } from '../../src/cli/init/context.js';
import { parseStacks } from '../../src/cli/init/options.js';
import { SandcatError } from '../../src/errors.js';

describe('choices from flags and environment', () => {
  const cases: { name: string; args: string[]; env: Record<string, string>; want: object }[] = [
    { name: 'flags only', args: ['--agent', 'codex', '--ide', 'jetbrains', '--stacks', 'python,node', '--features', '1password'], env: {}, want: { agent: 'codex', ide: 'jetbrains', stacks: ['node', 'python'], features: ['1password'] } },
    { name: 'env twins', args: [], env: { SANDCAT_AGENT: 'cursor', SANDCAT_IDE: 'none', SANDCAT_STACKS: 'go', SANDCAT_FEATURES: 'tui' }, want: { agent: 'cursor', ide: 'none', stacks: ['go'], features: ['tui'] } },
    { name: 'a flag beats its env twin', args: ['--agent', 'claude'], env: { SANDCAT_AGENT: 'codex' }, want: { agent: 'claude' } },
    { name: 'nothing given', args: [], env: {}, want: {} },
    { name: 'empty env is unset', args: [], env: { SANDCAT_AGENT: '' }, want: {} },
    { name: 'case and spaces are forgiven', args: ['--stacks', ' Rust , GO ', '--agent', 'Claude'], env: {}, want: { agent: 'claude', stacks: ['rust', 'go'] } },
    { name: '"none" is an empty list', args: ['--stacks', 'none', '--features', ''], env: {}, want: { stacks: [], features: [] } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const { values } = parseFlags(flags, c.args, c.env);
      expect(choicesFromFlags(values)).toEqual(c.want);
    });
  }
  it('boolean twins: SANDCAT_FORCE=1 forces, SANDCAT_FORCE=0 does not', () => {
    expect(parseFlags(flags, [], { SANDCAT_FORCE: '1' }).values.force).toBe(true);
    expect(parseFlags(flags, [], { SANDCAT_FORCE: '0' }).values.force).toBe(false);
  });
  it('scala brings java, in catalog order, without duplicates', () => {
    expect(parseStacks('scala')).toEqual(['java', 'scala']);
    expect(parseStacks('scala,java,node,scala')).toEqual(['node', 'java', 'scala']);
  });
  it('an unknown value is an error that lists the choices', () => {
    const err = (() => {
      try {
        choicesFromFlags({ stacks: 'python,cobol' });
      } catch (e) {
        return e as SandcatError;
      }
    })();
    expect(err?.code).toBe('E_USAGE');
    expect(err?.message).toContain('"cobol"');
    expect(err?.hint).toContain('node, python, java, rust, go, scala, ruby, dotnet');
    expect(() => parseFlags(flags, ['--agnet', 'x'])).toThrow(SandcatError);
  });
});

describe('runInit on disk', () => {
  let root: string;
  let log: string[];
  let io: InitIo;
  let ctx: (dir: string) => InitContext;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'h6-init-'));
    mkdirSync(join(root, 'app'));
    log = [];
    io = { input: new PassThrough(), output: new PassThrough(), interactive: false, log: (l) => log.push(l) };
    ctx = (dir) => ({ projectDir: dir, projectName: 'app', version: '0.1.0', installDir: '/opt/sandcat', home: join(root, 'home'), git: { name: '', email: '' }, exists: () => false });
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));
  const dir = () => join(root, 'app');

  it('without a terminal and without flags it uses the defaults and says so', async () => {
    expect(await runInit(['--dir', dir()], io, {}, ctx)).toBe(0);
    expect(log.join('\n')).toMatch(/No terminal to ask on and no flags given: using the defaults \(agent claude, ide vscode/);
    expect(readFileSync(join(dir(), '.devcontainer', 'devcontainer.json'), 'utf8')).toContain('claudeCode.allowDangerouslySkipPermissions');
  });

  it('writes the user settings once, private (0600 in a 0700 directory), honouring $HOME', async () => {
    await runInit(['--dir', dir(), '--agent', 'none'], io, {}, ctx);
    const user = join(root, 'home', '.config', 'sandcat', 'settings.json');
    expect(statSync(user).mode & 0o777).toBe(0o600);
    expect(statSync(join(root, 'home', '.config', 'sandcat')).mode & 0o777).toBe(0o700);
    writeFileSync(user, '{"secrets": {"GITHUB_TOKEN": {"value": "real", "hosts": ["github.com"]}}}\n');
    log = [];
    expect(await runInit(['--dir', dir(), '--agent', 'codex', '--force'], io, {}, ctx)).toBe(0);
    expect(readFileSync(user, 'utf8')).toContain('"real"'); // never overwritten, even with --force
    expect(log.join('\n')).toContain('~/.config/sandcat/settings.json  (exists; never overwritten)');
    expect(log.join('\n')).toContain('do not allow api.openai.com'); // and it says what codex is missing
  });

  it('never overwrites a changed file without --force, and says which it skipped', async () => {
    await runInit(['--dir', dir(), '--yes'], io, {}, ctx);
    const dockerfile = join(dir(), '.devcontainer', 'Dockerfile.app');
    writeFileSync(dockerfile, 'FROM mine\n');
    log = [];
    await runInit(['--dir', dir(), '--yes', '--stacks', 'rust'], io, {}, ctx);
    expect(readFileSync(dockerfile, 'utf8')).toBe('FROM mine\n');
    expect(log.join('\n')).toMatch(/skipped\s+\.devcontainer\/Dockerfile\.app\s+\(exists; --force overwrites\)/);
    expect(log.join('\n')).toContain('sandcat init --existing');
    await runInit(['--dir', dir(), '--yes', '--stacks', 'rust', '--force'], io, {}, ctx);
    expect(readFileSync(dockerfile, 'utf8')).toContain('RUN mise use -g rust@stable');
  });

  it('adds .sandcat/settings.local.json to .gitignore once, keeping what was there', async () => {
    writeFileSync(join(dir(), '.gitignore'), 'node_modules');
    await runInit(['--dir', dir(), '--yes'], io, {}, ctx);
    await runInit(['--dir', dir(), '--yes'], io, {}, ctx);
    expect(readFileSync(join(dir(), '.gitignore'), 'utf8')).toBe('node_modules\n.sandcat/settings.local.json\n');
  });

  it('rejects a missing project directory with what to do', async () => {
    await expect(runInit(['--dir', join(root, 'nope')], io, {}, ctx)).rejects.toThrow(/does not exist/);
    expect(existsSync(join(root, 'nope'))).toBe(false);
  });
});
