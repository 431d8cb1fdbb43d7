// Starting the two interceptors in the proxy namespace: mitmdump (transparent mode, the fair
// command line from the design notes) and `sandcat daemon`. Both stay up for the whole run; a
// configuration is switched on by the nft redirect (topology.mjs), not by restarting them.
import { existsSync, mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnTracked, waitFor, inNs, nsSh, sh } from './exec.mjs';
import { NS, IP, IFACE, SC_WG_PORT } from './topology.mjs';

const BENCH = dirname(dirname(fileURLToPath(import.meta.url)));
const ROOT = dirname(BENCH);
export const MITM_PORT = 8081;
export const SC_PROXY_PORT = 3129;
export const SC_DNS_PORT = 5353;

function listening(ns, port, proto = 't') {
  return nsSh(ns, 'ss', [`-Hln${proto}`, `sport = :${port}`], { allowFail: true }).trim().length > 0;
}

/** The process that really runs (sh → ip netns exec → taskset → program all exec in place). */
function settledPid(child) {
  return child.pid;
}

export async function startMitmproxy(dir, upstreamCa, cpus) {
  const confdir = join(dir, 'mitmproxy');
  mkdirSync(confdir, { recursive: true });
  const child = spawnTracked('mitmdump', [
    ...inNs(NS.proxy, cpus),
    'mitmdump', '--mode', 'transparent', '--showhost', '-q',
    '--listen-port', String(MITM_PORT),
    '--set', `confdir=${confdir}`,
    '--set', 'connection_strategy=lazy',
    '--set', 'stream_large_bodies=1m',
    '--set', `ssl_verify_upstream_trusted_ca=${upstreamCa}`,
    '-s', join(BENCH, 'mitm-addon.py'),
  ], { logFile: join(dir, 'mitmdump.log') });
  const ca = join(confdir, 'mitmproxy-ca-cert.pem');
  await waitFor('mitmdump to listen', () => {
    if (child.exitCode !== null) throw new Error(`mitmdump exited: ${child.stderrTail}`);
    return existsSync(ca) && listening(NS.proxy, MITM_PORT);
  }, 60_000, 250);
  return { name: 'mitmproxy', child, pid: settledPid(child), ca };
}

/** True when this checkout has a daemon command to benchmark. */
export function sandcatAvailable() {
  return existsSync(join(ROOT, 'dist/cli/commands/daemon.js'));
}

/**
 * Starts `sandcat daemon` with an allow-all settings file (plus one denied zone for the DNS figure),
 * resolving through the upstream namespace's DNS and trusting the upstream's test CA.
 * `profileDir` turns on `node --cpu-prof`.
 */
export async function startSandcat(dir, upstreamCa, cpus, { profileDir, logLevel = 'info' } = {}) {
  const d = (n) => {
    const p = join(dir, 'sandcat', n);
    mkdirSync(p, { recursive: true });
    return p;
  };
  const [state, wg, pub, project] = ['state', 'wg', 'public', 'project'].map(d);
  const settings = join(dir, 'sandcat', 'settings.json');
  writeFileSync(
    settings,
    JSON.stringify(
      {
        network: [
          { action: 'deny', host: '*.denied.test' },
          { action: 'allow', host: '*' },
        ],
        dns_servers: [IP.up],
        upstream_ca: upstreamCa,
      },
      null,
      2,
    ),
  );
  const node = ['node', ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])];
  const child = spawnTracked('sandcat daemon', [
    ...inNs(NS.proxy, cpus),
    ...node, join(ROOT, 'bin/sandcat'), 'daemon',
    '--user-settings', settings,
    '--project-dir', project,
    '--state-dir', state,
    '--wg-dir', wg,
    '--public-dir', pub,
    '--wg-interface', IFACE.scServer,
    '--wg-port', String(SC_WG_PORT),
    '--wg-endpoint', `${IP.proxyA}:${SC_WG_PORT}`,
    '--proxy-port', String(SC_PROXY_PORT),
    '--dns-port', String(SC_DNS_PORT),
  ], { env: { ...process.env, SANDCAT_LOG_LEVEL: logLevel }, logFile: join(dir, 'sandcat-daemon.log') });
  await waitFor('sandcat daemon to be ready', () => {
    if (child.exitCode !== null) throw new Error(`sandcat daemon exited ${child.exitCode}: ${child.stderrTail.slice(-3000)}`);
    return existsSync(join(pub, 'ready')) && listening(NS.proxy, SC_PROXY_PORT);
  }, 60_000, 250);
  return {
    name: 'sandcat',
    child,
    pid: settledPid(child),
    ca: join(pub, 'ca.pem'),
    clientConf: join(wg, 'client.conf'),
    stderr: () => child.stderrTail,
  };
}

/** Resident set size of a process in MiB (VmRSS), or NaN when it is gone. */
export function rssMiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** User+system CPU seconds a process has used so far. */
export function cpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ=100)
  } catch {
    return NaN;
  }
}

/** Samples RSS every `everyMs` until stopped; returns the peak. */
export function rssPeakSampler(pid, everyMs = 50) {
  let peak = rssMiB(pid);
  const t = setInterval(() => {
    const v = rssMiB(pid);
    if (v > peak) peak = v;
  }, everyMs);
  return () => {
    clearInterval(t);
    const v = rssMiB(pid);
    return Math.max(peak, Number.isNaN(v) ? 0 : v);
  };
}

export { sh };
