import { execFile } from 'node:child_process';
import { relative } from 'node:path';
import { promisify } from 'node:util';
import { formatError } from '../../errors.js';
import { loadSettings, type Settings } from '../../settings/index.js';
import { flagHelp, parseFlags, type FlagSpec } from '../args.js';
import { captureCompose, COMPOSE_FILE_FLAG, describeProjectName, detectComposeTool, findProject, type ComposeProject, type ComposeTool } from '../compose-files.js';
import { groupRepeats, type DenialGroup } from '../denial-groups.js';
import { settingsWarnings } from '../settings-warnings.js';
import { compileFilter, isDenied, parseLogLine, formatEvent, wantColor, type LogEvent } from '../proxy-log.js';
import { settingsPaths } from './edit.js';

const pexec = promisify(execFile);

const flags = {
  denials: { type: 'string', env: 'SANDCAT_STATUS_DENIALS', default: '10', help: 'how many recent denials to show' },
  file: COMPOSE_FILE_FLAG,
} satisfies Record<string, FlagSpec>;

export const help = `usage: sandcat status [--denials N] [-f <compose file>]…

Show whether the sandbox is healthy and what it enforces:
  - the proxy, wg-client and agent containers (running, healthcheck state);
  - the tunnel's last WireGuard handshake (wg show, inside wg-client);
  - the rules per settings layer and the names of the secrets (never their values), read from the
    same files the proxy reads, and the warnings the proxy logs for them (rule pitfalls included);
  - the last denials from the proxy's log, with the rule that decided each.
Exit status 0 when proxy and wg-client are healthy, else 1.

The project is the nearest .devcontainer/devcontainer.json at or above the current directory, else
docker/compose.yml or compose.yml in it (the Docker quick start, run from the sandcat checkout), or
the files given with -f / SANDCAT_COMPOSE_FILES.

options:
${flagHelp(flags)}
`;

interface ContainerState {
  service: string;
  state: string;
  healthy: boolean | undefined;
}

async function containerState(tool: ComposeTool, project: ComposeProject, service: string): Promise<ContainerState> {
  const ps = await captureCompose(tool, project, ['ps', '-q', service]);
  const id = ps.stdout.trim().split('\n')[0];
  if (ps.code !== 0 || !id) return { service, state: 'not created', healthy: undefined };
  try {
    const { stdout } = await pexec('docker', ['inspect', '--format', '{{json .State}}', id]);
    const s = JSON.parse(stdout) as { Status?: string; Health?: { Status?: string } };
    const health = s.Health?.Status;
    return { service, state: `${s.Status ?? 'unknown'}${health ? `, ${health}` : ''}`, healthy: health ? health === 'healthy' : s.Status === 'running' };
  } catch {
    return { service, state: 'unknown (docker inspect failed)', healthy: undefined };
  }
}

/** `wg show all latest-handshakes` lines: interface, peer key, unix seconds (0: never). */
export function describeHandshake(output: string, nowSeconds: number): string {
  const lines = output.trim().split('\n').filter(Boolean);
  if (lines.length === 0) return 'no WireGuard interface';
  return lines
    .map((l) => {
      const [iface, peer, ts] = l.split(/\s+/);
      const t = Number(ts);
      const when = !t ? 'never' : `${Math.max(0, Math.round(nowSeconds - t))}s ago`;
      return `${iface}: last handshake ${when} (peer ${String(peer).slice(0, 8)}…)`;
    })
    .join('; ');
}

export function settingsSummary(settings: Settings, show: (file: string) => string): string[] {
  const lines: string[] = [];
  for (const src of settings.sources) {
    const n = settings.rules.filter((r) => r.layer === src.layer).length;
    lines.push(`${src.layer.padEnd(8)} ${show(src.file)}: ${src.present ? `${n} rule${n === 1 ? '' : 's'}` : 'absent'}`);
  }
  const secrets = Object.values(settings.secrets).map((s) => {
    const note = s.source.kind === 'op' ? ' (1Password)' : s.source.kind === 'pass' ? ' (Proton Pass)' : s.source.value === '' ? ' (empty: fill it in)' : '';
    return `${s.name}${note}`;
  });
  lines.push(`secrets  ${secrets.length ? secrets.join(', ') : 'none'}`);
  const warnings = settingsWarnings(settings);
  lines.push(`warnings ${warnings.length ? `${warnings.length}:` : 'none'}`);
  for (const w of warnings) lines.push(`  ${w}`);
  return lines;
}

export function ruleDescriber(settings: Settings | null): (tag: string) => string | undefined {
  return (tag) => {
    const m = /^(\w+)\[(\d+)\]$/.exec(tag);
    const r = m && settings?.rules.find((x) => x.layer === m[1] && x.index === Number(m[2]));
    return r ? `${r.action} ${r.host}${r.method ? ` ${r.method}` : ''}${r.port ? ` port ${r.port}` : ''}` : undefined;
  };
}

/** The last `n` denials in a log text, repeats of one denial (A and AAAA lookups, retries) folded. */
export function lastDenials(logText: string, n: number): DenialGroup[] {
  const denied = compileFilter({ deniedOnly: true });
  const out: LogEvent[] = [];
  for (const line of logText.split('\n')) {
    const p = parseLogLine(line);
    if (p && denied(p) && 'event' in p && isDenied(p.event)) out.push(p.event);
  }
  return n > 0 ? groupRepeats(out).slice(-n) : [];
}

export async function run(args: string[]): Promise<number> {
  try {
    const { values } = parseFlags(flags, args);
    const count = Math.max(0, Number(values.denials) || 0);
    const project = findProject(process.cwd(), values.file);
    const tool = detectComposeTool();
    const out = (s: string) => process.stdout.write(s + '\n');
    const show = (f: string) => (f.startsWith(`${project.root}/`) ? relative(project.root, f) : f.replace(process.env.HOME ?? '\0', '~'));
    out(`project  ${project.root} (compose project ${describeProjectName(project)}; ${tool.argv.join(' ')} ${tool.version})`);

    const states = await Promise.all(['proxy', 'wg-client', project.service].map((s) => containerState(tool, project, s)));
    for (const s of states) out(`${s.service.padEnd(8)} ${s.state}`);

    const wgRunning = states[1]!.state.startsWith('running');
    if (wgRunning) {
      const wg = await captureCompose(tool, project, ['exec', '-T', 'wg-client', 'wg', 'show', 'all', 'latest-handshakes']);
      out(`tunnel   ${wg.code === 0 ? describeHandshake(wg.stdout, Date.now() / 1000) : `wg show failed: ${wg.stderr.trim().split('\n').pop()}`}`);
    } else out('tunnel   down (wg-client is not running)');

    let settings: Settings | null = null;
    try {
      settings = loadSettings(settingsPaths(project.settingsRoot));
      for (const l of settingsSummary(settings, show)) out(l);
    } catch (err) {
      out(`settings ERROR ${formatError(err)}`);
    }

    if (count > 0 && states[0]!.state !== 'not created') {
      const logs = await captureCompose(tool, project, ['logs', '--no-color', '--tail=5000', 'proxy'], 60_000);
      const denials = lastDenials(logs.stdout + '\n' + logs.stderr, count);
      out(`last ${count} denials${denials.length ? ':' : ': none logged'}`);
      const opts = { color: wantColor(process.stdout), describeRule: ruleDescriber(settings) };
      for (const g of denials) out(`  ${formatEvent(g.event, opts)}${g.count > 1 ? ` (×${g.count})` : ''}`);
    }
    const healthy = states[0]!.healthy === true && states[1]!.healthy === true;
    if (!healthy) out('The sandbox is not healthy: "sandcat run" starts it, "sandcat compose logs proxy wg-client" says why it stopped.');
    return healthy ? 0 : 1;
  } catch (err) {
    process.stderr.write(`sandcat status: ${formatError(err)}\n`);
    return 1;
  }
}
