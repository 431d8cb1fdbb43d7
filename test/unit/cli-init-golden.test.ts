/**
 * Every file `sandcat init` generates, compared byte for byte with test/golden/<scenario>/.
 * Regenerate after an intended change with: UPDATE_GOLDEN=1 npx vitest run test/unit/cli-init-golden.test.ts
 * Besides the bytes, each file must be what its reader accepts: settings pass the daemon's schema,
 * devcontainer.json is JSONC, compose files parse (and pass `docker-compose config` when installed).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { parse as parseJsonc, type ParseError } from 'jsonc-parser';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { InitContext } from '../../src/cli/init/context.js';
import { parseStacks, type InitChoices } from '../../src/cli/init/options.js';
import { planInit } from '../../src/cli/init/plan.js';
import { writePlan } from '../../src/cli/init/write-plan.js';
import { mergeLayers, parseLayer } from '../../src/settings/index.js';

const GOLDEN = join(import.meta.dirname, '..', 'golden', 'init');
const UPDATE = process.env.UPDATE_GOLDEN === '1';

const SCENARIOS: Record<string, InitChoices> = {
  'claude-vscode-python-node': { agent: 'claude', ide: 'vscode', stacks: parseStacks('python,node'), features: [] },
  'claude-vscode-scala-1password': { agent: 'claude', ide: 'vscode', stacks: parseStacks('scala'), features: ['1password'] },
  'codex-jetbrains-go-rust': { agent: 'codex', ide: 'jetbrains', stacks: parseStacks('go,rust'), features: [] },
  'copilot-vscode-ruby-dotnet-java': { agent: 'copilot', ide: 'vscode', stacks: parseStacks('ruby,dotnet,java'), features: ['tui'] },
  'cursor-none-nostacks': { agent: 'cursor', ide: 'none', stacks: [], features: [] },
  'none-none-nostacks': { agent: 'none', ide: 'none', stacks: [], features: [] },
};

function fixedContext(root: string): InitContext {
  return {
    projectDir: join(root, 'project', 'demo-app'),
    projectName: 'demo-app',
    version: '0.1.0',
    installDir: '/opt/sandcat',
    home: join(root, 'home'),
    git: { name: 'Ada Lovelace', email: 'ada@example.com' },
    // Only CLAUDE.md exists on this imaginary host, so agents/ and commands/ mounts come out commented.
    exists: (p) => p.endsWith('.claude/CLAUDE.md'),
  };
}

/** Golden names: project files under project/, the user's under home/. */
function goldenName(root: string, path: string): string {
  return relative(root, path).replace(/^project\/demo-app\//, 'project/');
}

function hasDockerCompose(): boolean {
  try {
    execFileSync('docker-compose', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('sandcat init golden files', () => {
  for (const [name, choices] of Object.entries(SCENARIOS)) {
    it(`${name}: every generated file matches test/golden/init/${name}/`, () => {
      const root = '/golden-root';
      const files = planInit(choices, fixedContext(root));
      const names = files.map((f) => goldenName(root, f.path));
      expect(new Set(names).size).toBe(names.length);
      for (const f of files) {
        const golden = join(GOLDEN, name, goldenName(root, f.path));
        if (UPDATE) {
          mkdirSync(dirname(golden), { recursive: true });
          writeFileSync(golden, f.content);
          continue;
        }
        expect(existsSync(golden), `missing golden file ${golden}; run with UPDATE_GOLDEN=1`).toBe(true);
        expect(f.content, `${golden} differs; if intended, run with UPDATE_GOLDEN=1`).toBe(readFileSync(golden, 'utf8'));
      }
    });

    it(`${name}: each file is accepted by its reader`, () => {
      const files = planInit(choices, fixedContext('/r'));
      for (const f of files) {
        if (f.path.endsWith('settings.json')) {
          const { warnings } = parseLayer({ layer: 'user', file: f.path, text: f.content });
          expect(warnings).toEqual([]);
          expect(f.content).not.toMatch(/^\s*(\/\/|\/\*)/m); // comment-free JSON the daemon reads
        } else if (f.path.endsWith('devcontainer.json')) {
          const errors: ParseError[] = [];
          const data = parseJsonc(f.content, errors) as Record<string, unknown>;
          expect(errors).toEqual([]);
          expect(data.dockerComposeFile).toEqual(['compose-sandcat.yml', 'compose-agent.yml']);
          expect(data.service).toBe('agent');
          expect(data.remoteEnv).toEqual({ SSH_AUTH_SOCK: '', GPG_AGENT_INFO: '', GIT_ASKPASS: '' });
        } else if (f.path.endsWith('.yml')) {
          expect(() => parseYaml(f.content)).not.toThrow();
        }
      }
      // The layers merge as the daemon will merge them: project rules before the user's.
      const project = files.find((f) => f.path.endsWith('.sandcat/settings.json'))!;
      const user = files.find((f) => f.path.endsWith('.config/sandcat/settings.json'))!;
      const merged = mergeLayers([
        { layer: 'user', file: 'user', text: user.content },
        { layer: 'project', file: 'project', text: project.content },
      ]);
      expect(merged.rules.every((r) => r.layer === 'project' || r.layer === 'user')).toBe(true);
      expect(merged.rules.some((r) => r.host === '*')).toBe(false); // the liberal GET rule ships disabled
      expect(Object.keys(merged.secrets)).toContain('GITHUB_TOKEN');
    });
  }

  it('a failed installer download fails its RUN step (run as Docker would, with the file\'s SHELL)', () => {
    // Every scenario with a downloaded installer (mise for stacks, Cursor's own): the URL is pointed
    // at a closed local port, and the RUN body must exit non-zero, not "succeed" with an empty script.
    const checked: string[] = [];
    for (const [name, choices] of Object.entries(SCENARIOS)) {
      const df = planInit(choices, fixedContext('/r')).find((f) => f.path.endsWith('Dockerfile.app'))!.content;
      const shellLine = /^SHELL (\[.*\])$/m.exec(df);
      const shell = shellLine ? (JSON.parse(shellLine[1]!) as string[]) : ['/bin/sh', '-c'];
      const runs = df.replace(/\\\n/g, ' ').split('\n').filter((l) => l.startsWith('RUN ') && /curl .*https:\/\//.test(l));
      for (const run of runs) {
        const body = run.slice(4).replace(/https:\/\/\S+/g, 'http://127.0.0.1:9/');
        const r = spawnSync(shell[0]!, [...shell.slice(1), body], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: tmpdir() }, timeout: 20_000 });
        expect(r.status, `${name}: ${run}`).not.toBe(0);
        checked.push(name);
      }
    }
    expect(new Set(checked)).toEqual(new Set(['claude-vscode-python-node', 'claude-vscode-scala-1password', 'codex-jetbrains-go-rust', 'copilot-vscode-ruby-dotnet-java', 'cursor-none-nostacks']));
  });

  it.skipIf(!hasDockerCompose())('the generated compose files pass docker-compose config (v1), merged in devcontainer.json order', () => {
    const root = mkdtempSync(join(tmpdir(), 'h6-golden-'));
    try {
      const ctx = fixedContext(root);
      mkdirSync(ctx.projectDir, { recursive: true });
      writePlan(planInit(SCENARIOS['claude-vscode-python-node']!, ctx), false);
      const dc = join(ctx.projectDir, '.devcontainer');
      const out = execFileSync('docker-compose', ['-f', join(dc, 'compose-sandcat.yml'), '-f', join(dc, 'compose-agent.yml'), 'config'], {
        encoding: 'utf8',
        // The build context must exist for `config`: point SANDCAT_HOME at this checkout.
        env: { ...process.env, HOME: ctx.home, SANDCAT_HOME: join(import.meta.dirname, '..', '..') },
      });
      const cfg = parseYaml(out) as { services: Record<string, Record<string, unknown>> };
      expect(Object.keys(cfg.services).sort()).toEqual(['agent', 'proxy', 'wg-client']);
      expect(cfg.services.agent!.network_mode).toBe('service:wg-client');
      const vols = (cfg.services.agent!.volumes as string[]).map(String);
      expect(vols).toContain(`${join(ctx.projectDir, '.sandcat')}:/workspaces/demo-app/.sandcat:ro`);
      expect(vols).toContain(`${join(ctx.projectDir, '.devcontainer')}:/workspaces/demo-app/.devcontainer:ro`);
      expect(vols.some((v) => v.startsWith('sandcat-private'))).toBe(false);
      expect((cfg.services.proxy!.volumes as string[]).map(String)).toContain(`${join(ctx.projectDir, '.sandcat')}:/config/project:ro`);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
