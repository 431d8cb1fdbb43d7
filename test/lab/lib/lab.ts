/**
 * THE LAB: three network namespaces wired like a sandcat deployment, with real WireGuard, real
 * nftables and the real `./bin/sandcat daemon` (from dist/, so run `npm run build` first;
 * `npm test` does).
 *
 *   agent ns ──veth (WireGuard UDP underlay)── proxy ns ──veth── upstream ns
 *   wireguard-go client                         sandcat daemon     HTTPS/HTTP/WS/TCP + DNS servers
 *   default routes → tunnel                     (wireguard-go,     (test CA; logs every request
 *   resolv.conf → 10.77.0.1                      nft capture)       and every DNS query)
 *
 * Usage (see test/lab/daemon.test.ts):
 *
 *   import { createLab, labSkipReason, type Lab } from './lib/index.js';
 *   const skip = labSkipReason();                     // string when not root / tools missing
 *   describe.skipIf(skip)('…', () => {
 *     let lab: Lab;
 *     beforeAll(async () => { lab = await createLab({ tag: 'h3h2', settings: { network: [...] } }); });
 *     afterAll(async () => { await lab?.destroy(); });
 *     it('…', async () => {
 *       const r = await lab.agentCurl(['https://api.allowed.test/echo']);  // trusts sandcat's CA
 *       expect(r.status).toBe(200);
 *       expect(lab.upstreamRequests({ host: 'api.allowed.test' })).toHaveLength(1);
 *     });
 *   });
 *
 * createLab(options)
 *   tag            ≤ 5 chars, your helper tag; names get tag + 4 random hex chars (unique host-wide,
 *                  as wireguard-go sockets in /var/run/wireguard are shared by all namespaces)
 *   settings       user-layer settings JSON (object); `dns_servers` defaults to the upstream DNS
 *                  server, `upstream_ca` to the lab's upstream CA (give them to override)
 *   projectSettings / localSettings   the other two layers (optional)
 *   names          DNS names the upstream DNS answers with the upstream's IPs (default LAB_NAMES)
 *   records        extra/override DNS records {name: {A?: [...], AAAA?: [...]}}
 *   httpsPorts [443, 8443] · httpPorts [80, 8080] · tcpEchoPorts [7777] · tcpBannerPorts [2222]
 *   daemonArgs / daemonEnv   extra flags / environment for the daemon
 *   startDaemon (true) · startAgent (true): set false to drive those steps yourself
 *
 * Lab
 *   prefix, ns {agent, proxy, upstream}, iface {wgServer, wgClient, …}, ip {…}, dirs {…}, pki
 *   exec(role | nsName, cmd, args, {input, timeoutMs, env}) → {stdout, stderr, code} (never throws)
 *   agentCurl(args, {timeoutSec}) → {status, body, stderr, code}; adds --cacert <public>/ca.pem
 *   agentDig(name, type = 'A', extraArgs) → {status: 'NOERROR'|'REFUSED'|…|null, answers[], stdout, code}
 *   upstreamEvents() · upstreamRequests(filter?) · dnsQueries(name?) · clearUpstreamLog()
 *   waitForUpstream(pred, timeoutMs)
 *   writeSettings(obj, layer = 'user')   (then restartDaemon() or reloadDaemon())
 *   startDaemon() · stopDaemon(signal = 'SIGTERM') → exit code · restartDaemon() · reloadDaemon()
 *   daemonLogs() (parsed pino lines) · daemonLogText() · waitForLog(pred, timeoutMs)
 *   startAgent() (after the daemon wrote client.conf) · readPublic(file)
 *   waitForTunnel(timeoutMs = 30000): until a TCP connect through the tunnel works. After a
 *              daemon restart the agent's WireGuard re-handshakes only once its old session
 *              times out (up to ~15 s); restartDaemon() and startDaemon() wait for it.
 *   spawnUpstream(script, args) → extra server process in the upstream ns (yours to stop)
 *   destroy()  idempotent; kills daemon, wireguard-go, upstream servers; deletes nft tables,
 *              namespaces, /etc/netns dirs, stale sockets and the temp dir (kept with LAB_KEEP=1,
 *              e.g. to read <root>/daemon.log, every daemon stderr line of the lab)
 *
 * A crashed earlier run is reaped on the next createLab with the same tag (marker files in
 * /run/sandcat-lab/ record the owning pid).
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { captureTableName } from '../../../src/wg/capture-plan.js';
import { execIn, mustExec, onJsonLines, onLines, runningProcesses, spawnIn, stopChild, waitFor, type ExecOptions, type ExecResult } from './exec.js';
import { mintTestPki, type TestPki } from './test-ca.js';
import { parseWgQuick, toWgSetconf } from './wg-quick.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/** The checkout (holds bin/sandcat), found upward so the harness also runs compiled (the demo). */
function findRepoRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'bin/sandcat')) && existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return resolve(HERE, '../../..');
  }
}
export const REPO_ROOT = findRepoRoot(HERE);
const UPSTREAM_SERVER = join(REPO_ROOT, 'test/lab/lib/upstream-server.mjs');
const MARKER_DIR = '/run/sandcat-lab';

/** Names the upstream DNS answers by default; all point at the upstream server. */
export const LAB_NAMES = ['api.allowed.test', 'other.allowed.test', 'plain.allowed.test', 'denied.test', 'secret.allowed.test', 'www.allowed.test'];

/** Fixed addresses: every lab has its own namespaces, so labs never collide on them. */
export const LAB_IP = {
  agentUnderlay: '10.200.0.2',
  proxyUnderlay: '10.200.0.1',
  proxyUpstream4: '10.201.0.1',
  proxyUpstream6: 'fd01::1',
  upstream4: '10.201.0.10',
  upstream6: 'fd01::10',
  tunnel4: '10.77.0.1',
  tunnel6: 'fd00:77::1',
  client4: '10.77.0.2',
  client6: 'fd00:77::2',
  wgPort: 51820,
} as const;

export type Role = 'agent' | 'proxy' | 'upstream';
export type SettingsLayer = 'user' | 'project' | 'local';

export interface LabOptions {
  tag: string;
  settings?: Record<string, unknown>;
  projectSettings?: Record<string, unknown>;
  localSettings?: Record<string, unknown>;
  names?: string[];
  records?: Record<string, { A?: string[]; AAAA?: string[] }>;
  httpsPorts?: number[];
  httpPorts?: number[];
  tcpEchoPorts?: number[];
  tcpBannerPorts?: number[];
  daemonArgs?: string[];
  daemonEnv?: Record<string, string>;
  startDaemon?: boolean;
  startAgent?: boolean;
}

export interface UpstreamEvent {
  kind: string;
  at: number;
  [k: string]: unknown;
}
export interface HttpEvent extends UpstreamEvent {
  kind: 'http';
  scheme: 'http' | 'https';
  httpVersion: string;
  sni: string | null;
  host: string;
  method: string;
  path: string;
  headers: Record<string, string | string[]>;
  body: string;
  bodySize: number;
}
export interface DnsEvent extends UpstreamEvent {
  kind: 'dns';
  name: string;
  type: string;
  proto: 'udp' | 'tcp';
}
export interface CurlResult {
  /** HTTP status, 0 when no response arrived. */
  status: number;
  body: string;
  stderr: string;
  /** curl's exit code (0 ok, 6 resolve failed, 7 connect failed, 35 TLS, 52 empty reply…). */
  code: number;
}
export interface DigResult {
  status: string | null;
  answers: string[];
  stdout: string;
  code: number;
}

export interface Lab {
  readonly prefix: string;
  readonly ns: Record<Role, string>;
  readonly iface: { wgServer: string; wgClient: string; agentVeth: string; proxyVethAgent: string; proxyVethUp: string; upstreamVeth: string };
  readonly ip: typeof LAB_IP;
  readonly dirs: { root: string; state: string; wg: string; public: string; project: string; userSettings: string; upstreamCa: string };
  readonly pki: TestPki;
  readonly nftTable: string;
  exec(where: Role | string, cmd: string, args: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  agentCurl(args: readonly string[], opts?: { timeoutSec?: number }): Promise<CurlResult>;
  agentDig(name: string, type?: string, extraArgs?: readonly string[]): Promise<DigResult>;
  upstreamEvents(): UpstreamEvent[];
  upstreamRequests(filter?: { host?: string; method?: string; path?: string }): HttpEvent[];
  dnsQueries(name?: string): DnsEvent[];
  clearUpstreamLog(): void;
  waitForUpstream(pred: (e: UpstreamEvent) => boolean, timeoutMs?: number): Promise<UpstreamEvent>;
  writeSettings(settings: Record<string, unknown>, layer?: SettingsLayer): void;
  startDaemon(): Promise<void>;
  stopDaemon(signal?: NodeJS.Signals): Promise<number | string>;
  restartDaemon(): Promise<void>;
  reloadDaemon(): Promise<void>;
  daemonLogs(): Record<string, unknown>[];
  daemonLogText(): string;
  waitForLog(pred: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  startAgent(): Promise<void>;
  waitForTunnel(timeoutMs?: number): Promise<void>;
  readPublic(file: string): string;
  spawnUpstream(script: string, args?: string[], env?: NodeJS.ProcessEnv): ChildProcess;
  destroy(): Promise<void>;
}

function which(tool: string): boolean {
  const dirs = (process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(':').concat(['/usr/sbin', '/sbin']);
  return dirs.some((d) => existsSync(join(d, tool)));
}

/** Why lab tests cannot run here (a message for describe.skipIf), or null when they can. */
export function labSkipReason(): string | null {
  if (process.platform !== 'linux') return 'lab tests need Linux network namespaces';
  if (process.getuid?.() !== 0) return 'lab tests need root (network namespaces, nftables, WireGuard): run as root, e.g. sudo npm test';
  const missing = ['ip', 'nft', 'wg', 'wireguard-go', 'curl', 'dig'].filter((t) => !which(t));
  if (missing.length) return `lab tests need ${missing.join(', ')}: run scripts/install-deps.sh`;
  if (!existsSync('/dev/net/tun')) return 'lab tests need /dev/net/tun for wireguard-go';
  if (!existsSync(join(REPO_ROOT, 'dist/cli/main.js'))) return 'lab tests run the built daemon: run npm run build first';
  return null;
}

interface Marker {
  pid: number;
  namespaces: string[];
  wgNames: string[];
  etcDirs: string[];
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Kill any wireguard-go serving exactly `name` (found through /proc; killed by pid). */
function killWireguardGo(name: string): void {
  for (const { pid, argv } of runningProcesses()) {
    const i = argv.findIndex((a) => a.endsWith('wireguard-go'));
    if (i >= 0 && argv.slice(i + 1).includes(name)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
  try {
    unlinkSync(`/var/run/wireguard/${name}.sock`);
  } catch {
    /* absent */
  }
}

async function removeLabResources(m: Marker): Promise<void> {
  for (const name of m.wgNames) killWireguardGo(name);
  for (const ns of m.namespaces) await execIn(null, 'ip', ['netns', 'del', ns]);
  for (const d of m.etcDirs) rmSync(d, { recursive: true, force: true });
}

/** Clean up labs of this tag whose test process died before its destroy(). */
async function reapStale(tag: string): Promise<void> {
  if (!existsSync(MARKER_DIR)) return;
  for (const f of readdirSync(MARKER_DIR)) {
    if (!f.startsWith(tag) || !f.endsWith('.json')) continue;
    const file = join(MARKER_DIR, f);
    try {
      const m = JSON.parse(readFileSync(file, 'utf8')) as Marker;
      if (pidAlive(m.pid)) continue;
      await removeLabResources(m);
      unlinkSync(file);
    } catch {
      /* a marker being written by a live lab, or already reaped */
    }
  }
}

export async function createLab(options: LabOptions): Promise<Lab> {
  const reason = labSkipReason();
  if (reason) throw new Error(reason);
  if (!/^[a-z][a-z0-9]{0,4}$/.test(options.tag)) throw new Error(`lab tag must be 1-5 lowercase letters/digits, got "${options.tag}"`);
  await reapStale(options.tag);

  const prefix = `${options.tag}${randomBytes(2).toString('hex')}`;
  const ns: Record<Role, string> = { agent: `${prefix}-agent`, proxy: `${prefix}-proxy`, upstream: `${prefix}-up` };
  const iface = {
    wgServer: `${prefix}ws`,
    wgClient: `${prefix}wc`,
    agentVeth: `${prefix}a0`,
    proxyVethAgent: `${prefix}p0`,
    proxyVethUp: `${prefix}p1`,
    upstreamVeth: `${prefix}u0`,
  };
  const root = mkdtempSync(join(tmpdir(), `sandcat-lab-${prefix}-`));
  const dirs = {
    root,
    state: join(root, 'state'),
    wg: join(root, 'wg'),
    public: join(root, 'public'),
    project: join(root, 'project'),
    userSettings: join(root, 'user-settings.json'),
    upstreamCa: join(root, 'upstream-ca.pem'),
  };
  for (const d of [dirs.state, dirs.wg, dirs.public, dirs.project]) mkdirSync(d, { recursive: true });
  const nftTable = captureTableName(iface.wgServer);
  const marker: Marker = { pid: process.pid, namespaces: Object.values(ns), wgNames: [iface.wgServer, iface.wgClient], etcDirs: Object.values(ns).map((n) => `/etc/netns/${n}`) };
  mkdirSync(MARKER_DIR, { recursive: true });
  const markerFile = join(MARKER_DIR, `${prefix}.json`);
  writeFileSync(markerFile, JSON.stringify(marker));

  const names = options.names ?? LAB_NAMES;
  const records: Record<string, { A?: string[]; AAAA?: string[] }> = {};
  for (const n of names) records[n] = { A: [LAB_IP.upstream4], AAAA: [LAB_IP.upstream6] };
  Object.assign(records, options.records ?? {});

  let upstream: ChildProcess | null = null;
  let daemon: ChildProcess | null = null;
  let agentWg: ChildProcess | null = null;
  const extraUpstreams: ChildProcess[] = [];
  let events: UpstreamEvent[] = [];
  let logs: Record<string, unknown>[] = [];
  let logText = '';
  let destroyed = false;
  const pki = await mintTestPki([...Object.keys(records), LAB_IP.upstream4, LAB_IP.upstream6]);
  writeFileSync(dirs.upstreamCa, pki.caPem);

  const resolveNs = (where: Role | string): string => (where in ns ? ns[where as Role] : where);

  const lab: Lab = {
    prefix,
    ns,
    iface,
    ip: LAB_IP,
    dirs,
    pki,
    nftTable,
    exec: (where, cmd, args, opts) => execIn(resolveNs(where), cmd, args, opts),

    async agentCurl(args, opts = {}) {
      const caFile = join(dirs.public, 'ca.pem');
      const r = await execIn(ns.agent, 'curl', ['-sS', '--cacert', caFile, '-m', String(opts.timeoutSec ?? 10), '-w', '\n@@STATUS@@%{http_code}', ...args], {
        timeoutMs: ((opts.timeoutSec ?? 10) + 5) * 1000,
      });
      const m = /\n@@STATUS@@(\d{3})$/.exec(r.stdout);
      return { status: m ? Number(m[1]) : 0, body: m ? r.stdout.slice(0, m.index) : r.stdout, stderr: r.stderr, code: r.code };
    },

    async agentDig(name, type = 'A', extraArgs = []) {
      const r = await execIn(ns.agent, 'dig', ['+time=3', '+tries=1', '+noall', '+comments', '+answer', ...extraArgs, name, type]);
      const status = /status: ([A-Z]+)/.exec(r.stdout)?.[1] ?? null;
      const answers = r.stdout
        .split('\n')
        .filter((l) => l && !l.startsWith(';'))
        .map((l) => l.split(/\s+/).pop() ?? '')
        .filter(Boolean);
      return { status, answers, stdout: r.stdout, code: r.code };
    },

    upstreamEvents: () => [...events],
    upstreamRequests(filter = {}) {
      return events.filter(
        (e): e is HttpEvent =>
          e.kind === 'http' &&
          (filter.host === undefined || (e as HttpEvent).host === filter.host) &&
          (filter.method === undefined || (e as HttpEvent).method === filter.method) &&
          (filter.path === undefined || (e as HttpEvent).path === filter.path),
      );
    },
    dnsQueries(name) {
      const n = name?.toLowerCase().replace(/\.$/, '');
      return events.filter((e): e is DnsEvent => e.kind === 'dns' && (n === undefined || (e as DnsEvent).name === n));
    },
    clearUpstreamLog() {
      events = [];
    },
    waitForUpstream(pred, timeoutMs = 10_000) {
      return waitFor('an upstream event', () => events.find(pred), timeoutMs);
    },

    writeSettings(settings, layer = 'user') {
      const body: Record<string, unknown> = { ...settings };
      if (layer === 'user') {
        if (!('dns_servers' in body)) body.dns_servers = [LAB_IP.upstream4];
        if (!('upstream_ca' in body)) body.upstream_ca = dirs.upstreamCa;
      }
      const file = layer === 'user' ? dirs.userSettings : join(dirs.project, layer === 'project' ? 'settings.json' : 'settings.local.json');
      writeFileSync(file, JSON.stringify(body, null, 2));
    },

    async startDaemon() {
      if (daemon && daemon.exitCode === null && daemon.signalCode === null) throw new Error('daemon already running');
      const args = [
        join(REPO_ROOT, 'bin/sandcat'),
        'daemon',
        '--user-settings', dirs.userSettings,
        '--project-dir', dirs.project,
        '--state-dir', dirs.state,
        '--wg-dir', dirs.wg,
        '--public-dir', dirs.public,
        '--wg-interface', iface.wgServer,
        '--wg-port', String(LAB_IP.wgPort),
        '--wg-endpoint', `${LAB_IP.proxyUnderlay}:${LAB_IP.wgPort}`,
        ...(options.daemonArgs ?? []),
      ];
      const env = { ...process.env, NODE_EXTRA_CA_CERTS: dirs.upstreamCa, SANDCAT_LOG_LEVEL: process.env.SANDCAT_LOG_LEVEL ?? 'debug', ...(options.daemonEnv ?? {}) };
      const child = spawnIn(ns.proxy, process.execPath, args, { env });
      daemon = child;
      onLines(child.stderr, (line) => {
        logText += line + '\n';
        appendFileSync(join(root, 'daemon.log'), line + '\n');
        try {
          logs.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          logs.push({ msg: line, raw: true });
        }
      });
      onLines(child.stdout, (line) => (logText += line + '\n'));
      const ready = join(dirs.public, 'ready');
      await waitFor(
        'the daemon to write <public>/ready',
        () => {
          if (child.exitCode !== null || child.signalCode !== null) throw new Error(`daemon exited (${child.exitCode ?? child.signalCode}) before ready:\n${logText}`);
          return existsSync(ready);
        },
        30_000,
      );
      if (agentWg && agentWg.exitCode === null) await lab.waitForTunnel();
    },

    async waitForTunnel(timeoutMs = 30_000) {
      // TCP to the tunnel's port 53 is redirected to the DNS server's TCP listener: a connect
      // proves the tunnel carries traffic without sending a single DNS query.
      await waitFor(
        'the WireGuard tunnel to carry traffic',
        async () => (await execIn(ns.agent, 'timeout', ['2', 'bash', '-c', `exec 3<>/dev/tcp/${LAB_IP.tunnel4}/53`])).code === 0,
        timeoutMs,
        200,
      );
    },

    async stopDaemon(signal = 'SIGTERM') {
      if (!daemon) return -1;
      const code = await stopChild(daemon, signal, 10_000);
      return code;
    },

    async restartDaemon() {
      await lab.stopDaemon();
      await lab.startDaemon();
    },

    async reloadDaemon() {
      if (!daemon) throw new Error('daemon not running');
      const before = logs.length;
      daemon.kill('SIGHUP');
      await waitFor('the daemon to log its reload', () => logs.slice(before).some((l) => /reload/i.test(String(l.msg ?? ''))), 10_000);
    },

    daemonLogs: () => [...logs],
    daemonLogText: () => logText,
    waitForLog(pred, timeoutMs = 10_000) {
      return waitFor('a daemon log line', () => logs.find(pred), timeoutMs);
    },

    async startAgent() {
      const conf = parseWgQuick(readFileSync(join(dirs.wg, 'client.conf'), 'utf8'));
      const setconf = join(dirs.root, 'agent-wg.conf');
      writeFileSync(setconf, toWgSetconf(conf), { mode: 0o600 });
      if (agentWg) await stopChild(agentWg, 'SIGTERM', 2000);
      killWireguardGo(iface.wgClient);
      agentWg = spawnIn(ns.agent, 'wireguard-go', ['-f', iface.wgClient], { env: { ...process.env, WG_PROCESS_FOREGROUND: '1' }, deathSignal: 'KILL' });
      const child = agentWg;
      await waitFor('wireguard-go in the agent namespace', async () => {
        if (child.exitCode !== null) throw new Error('agent wireguard-go exited');
        return existsSync(`/var/run/wireguard/${iface.wgClient}.sock`) && (await execIn(ns.agent, 'ip', ['link', 'show', iface.wgClient])).code === 0;
      });
      await mustExec(ns.agent, 'wg', ['setconf', iface.wgClient, setconf]);
      for (const a of conf.addresses) await mustExec(ns.agent, 'ip', [a.includes(':') ? '-6' : '-4', 'addr', 'add', a, 'dev', iface.wgClient, ...(a.includes(':') ? ['nodad'] : [])]);
      await mustExec(ns.agent, 'ip', ['link', 'set', iface.wgClient, 'mtu', String(conf.mtu ?? 1420), 'up']);
      await mustExec(ns.agent, 'ip', ['-4', 'route', 'replace', 'default', 'dev', iface.wgClient]);
      await mustExec(ns.agent, 'ip', ['-6', 'route', 'replace', 'default', 'dev', iface.wgClient]);
      mkdirSync(`/etc/netns/${ns.agent}`, { recursive: true });
      writeFileSync(`/etc/netns/${ns.agent}/resolv.conf`, conf.dns.map((d) => `nameserver ${d}`).join('\n') + '\noptions timeout:2 attempts:1\n');
      await lab.waitForTunnel();
    },

    readPublic: (file) => readFileSync(join(dirs.public, file), 'utf8'),

    spawnUpstream(script, args = [], env = process.env) {
      const child = spawnIn(ns.upstream, process.execPath, [script, ...args], { env, stdin: 'pipe' });
      extraUpstreams.push(child);
      return child;
    },

    async destroy() {
      if (destroyed) return;
      destroyed = true;
      const stops: Promise<unknown>[] = [];
      if (daemon) stops.push(stopChild(daemon, 'SIGTERM', 8000));
      if (agentWg) stops.push(stopChild(agentWg, 'SIGTERM', 2000));
      for (const c of [upstream, ...extraUpstreams]) {
        if (!c) continue;
        c.stdin?.end();
        stops.push(stopChild(c, 'SIGTERM', 2000));
      }
      await Promise.allSettled(stops);
      await execIn(ns.proxy, 'nft', ['delete', 'table', 'inet', nftTable]);
      await removeLabResources(marker);
      try {
        unlinkSync(markerFile);
      } catch {
        /* gone */
      }
      if (process.env.LAB_KEEP !== '1') rmSync(root, { recursive: true, force: true });
    },
  };

  try {
    // Namespaces and links.
    for (const n of Object.values(ns)) {
      await mustExec(null, 'ip', ['netns', 'add', n]);
      await mustExec(n, 'ip', ['link', 'set', 'lo', 'up']);
    }
    await mustExec(null, 'ip', ['link', 'add', iface.agentVeth, 'netns', ns.agent, 'type', 'veth', 'peer', 'name', iface.proxyVethAgent, 'netns', ns.proxy]);
    await mustExec(null, 'ip', ['link', 'add', iface.proxyVethUp, 'netns', ns.proxy, 'type', 'veth', 'peer', 'name', iface.upstreamVeth, 'netns', ns.upstream]);
    const addr = async (n: string, dev: string, a: string): Promise<void> => {
      await mustExec(n, 'ip', [a.includes(':') ? '-6' : '-4', 'addr', 'add', a, 'dev', dev, ...(a.includes(':') ? ['nodad'] : [])]);
    };
    await addr(ns.agent, iface.agentVeth, `${LAB_IP.agentUnderlay}/24`);
    await addr(ns.proxy, iface.proxyVethAgent, `${LAB_IP.proxyUnderlay}/24`);
    await addr(ns.proxy, iface.proxyVethUp, `${LAB_IP.proxyUpstream4}/24`);
    await addr(ns.proxy, iface.proxyVethUp, `${LAB_IP.proxyUpstream6}/64`);
    await addr(ns.upstream, iface.upstreamVeth, `${LAB_IP.upstream4}/24`);
    await addr(ns.upstream, iface.upstreamVeth, `${LAB_IP.upstream6}/64`);
    for (const [n, dev] of [[ns.agent, iface.agentVeth], [ns.proxy, iface.proxyVethAgent], [ns.proxy, iface.proxyVethUp], [ns.upstream, iface.upstreamVeth]] as const) {
      await mustExec(n, 'ip', ['link', 'set', dev, 'up']);
    }
    // The proxy's own resolver file, in case anything in it falls back to the system resolver:
    // it must never reach the real network from a test.
    mkdirSync(`/etc/netns/${ns.proxy}`, { recursive: true });
    writeFileSync(`/etc/netns/${ns.proxy}/resolv.conf`, `nameserver ${LAB_IP.upstream4}\n`);

    // Upstream servers.
    const upConfig = {
      certPem: pki.certPem,
      keyPem: pki.keyPem,
      httpsPorts: options.httpsPorts ?? [443, 8443],
      httpPorts: options.httpPorts ?? [80, 8080],
      tcpEchoPorts: options.tcpEchoPorts ?? [7777],
      tcpBannerPorts: options.tcpBannerPorts ?? [2222],
      dns: { port: 53, records, ttl: 60 },
    };
    upstream = spawnIn(ns.upstream, process.execPath, [UPSTREAM_SERVER], { env: { ...process.env, LAB_UPSTREAM_CONFIG: JSON.stringify(upConfig) }, stdin: 'pipe' });
    let upstreamErr = '';
    onLines(upstream.stderr, (l) => (upstreamErr += l + '\n'));
    onJsonLines<UpstreamEvent>(upstream.stdout, (e) => events.push(e));
    const up = upstream;
    await waitFor('the upstream servers', () => {
      if (up.exitCode !== null) throw new Error(`upstream servers exited: ${upstreamErr}`);
      const err = events.find((e) => e.kind === 'error');
      if (err) throw new Error(`upstream server failed: ${JSON.stringify(err)}`);
      return events.some((e) => e.kind === 'ready');
    });
    events = events.filter((e) => e.kind !== 'ready');

    lab.writeSettings(options.settings ?? {}, 'user');
    if (options.projectSettings) lab.writeSettings(options.projectSettings, 'project');
    if (options.localSettings) lab.writeSettings(options.localSettings, 'local');

    if (options.startDaemon !== false) {
      await lab.startDaemon();
      if (options.startAgent !== false) await lab.startAgent();
    }
  } catch (err) {
    const logsSoFar = logText;
    await lab.destroy();
    if (logsSoFar && err instanceof Error && !err.message.includes(logsSoFar.slice(0, 50))) err.message += `\n--- daemon log ---\n${logsSoFar}`;
    throw err;
  }
  return lab;
}
