#!/usr/bin/env node
// `npm run bench`: sandcat side by side with mitmproxy and the direct path, on three network
// namespaces (agent → proxy → upstream), each configuration measured over the veth path and through
// a WireGuard tunnel. Configurations run interleaved (A, B, C, then B, C, A, …) and ratios are taken
// per round, because this machine is small and shared. Prints a table; writes bench/results/latest.json.
// Needs root. Knobs (environment): see docs/benchmarks.md or `node bench/run.mjs --help`.
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import { sh, spawnTracked, stopAll, stop, runJson, sleep, waitFor, inNs, HARD_NOFILE } from './lib/exec.mjs';
import { NS, IP, createTopology, destroyTopology, setRedirect, setPath, killStrayWireguardGo } from './lib/topology.mjs';
import { makeUpstreamCerts } from './lib/certs.mjs';
import { startOwnTunnel, startSandcatClient } from './lib/wireguard.mjs';
import {
  startMitmproxy,
  startSandcat,
  sandcatAvailable,
  rssMiB,
  cpuSeconds,
  rssPeakSampler,
  MITM_PORT,
  SC_PROXY_PORT,
  SC_DNS_PORT,
} from './lib/interceptors.mjs';
import { policyMicrobench } from './lib/policy-micro.mjs';
import { summarize, pairedRatio } from './lib/stats.mjs';
import { printTable, evaluateTargets } from './lib/report.mjs';
import { summarizeProfiles } from './lib/profile-top.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));

const HELP = `usage: npm run bench            (root; installs mitmproxy, wrk, wireguard-go, nftables if missing)

environment knobs:
  BENCH_QUICK=1           short run: 2 s per sample, 2 rounds, 64 MB bulk, 1,000 idle connections
  BENCH_SECONDS=5         duration of each timed sample
  BENCH_ROUNDS=3          interleaved rounds per figure
  BENCH_BULK_MB=1000      bulk download/upload size in MB (1 GB by default)
  BENCH_IDLE=1000,10000   idle connection counts for the memory figure
  BENCH_IDLE_LATE=0       also read RSS this many seconds later (after pooled upstream sockets expire)
  BENCH_CONFIGS=direct,mitmproxy,sandcat
  BENCH_PATHS=veth,wg
  BENCH_FIGURES=1,2,3,4,5,6,7
  BENCH_KEEPALIVE_TOOL=node  or wrk, for figure 1
  BENCH_SANDCAT_LOG_LEVEL=info  the daemon's log level (info: one line per request, as shipped)
  BENCH_PROFILE=1         run the daemon under node --cpu-prof and print its top frames
  BENCH_OUT=bench/results/latest.json
  BENCH_KEEP=1            keep the temporary directory (certificates, logs, profiles)`;

function options() {
  const env = process.env;
  const quick = env.BENCH_QUICK === '1';
  const list = (v, d) => (v ?? d).split(',').map((s) => s.trim()).filter(Boolean);
  return {
    quick,
    seconds: Number(env.BENCH_SECONDS ?? (quick ? 2 : 5)),
    rounds: Number(env.BENCH_ROUNDS ?? (quick ? 2 : 3)),
    bulkBytes: Math.round(Number(env.BENCH_BULK_MB ?? (quick ? 64 : 1000)) * 1e6),
    idle: list(env.BENCH_IDLE, quick ? '1000' : '1000,10000').map(Number),
    configs: list(env.BENCH_CONFIGS, 'direct,mitmproxy,sandcat'),
    paths: list(env.BENCH_PATHS, 'veth,wg'),
    figures: new Set(list(env.BENCH_FIGURES, '1,2,3,4,5,6,7').map(Number)),
    profile: env.BENCH_PROFILE === '1',
    out: env.BENCH_OUT ?? join(BENCH, 'results', 'latest.json'),
    keep: env.BENCH_KEEP === '1',
    latencySamples: quick ? 1000 : 3000,
    keepAliveTool: env.BENCH_KEEPALIVE_TOOL ?? 'node',
    sandcatLogLevel: env.BENCH_SANDCAT_LOG_LEVEL ?? 'info',
    idleLateSeconds: Number(env.BENCH_IDLE_LATE ?? 0),
  };
}

// Two cores: load generators and the upstream on CPU 0, the interceptor (and the proxy-side
// WireGuard) on CPU 1, so each interceptor gets one core of its own.
const CPUS = os.cpus().length;
const LOAD_CPU = CPUS >= 2 ? 0 : undefined;
const PROXY_CPU = CPUS >= 2 ? 1 : undefined;

const log = (...a) => process.stderr.write(`bench: ${a.join(' ')}\n`);

async function main() {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  if (process.getuid?.() !== 0) {
    log('needs root (network namespaces, nft, WireGuard); run it as root');
    return 1;
  }
  const opts = options();
  sh('sh', [join(BENCH, 'install.sh')]);
  const dir = mkdtempSync('/tmp/h7b-bench-');
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    await stopAll();
    await killStrayWireguardGo();
    destroyTopology();
    if (!opts.keep) rmSync(dir, { recursive: true, force: true });
    else log(`kept ${dir}`);
  };
  const onSignal = async () => {
    log('interrupted; cleaning up');
    await cleanup();
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await bench(opts, dir);
    return 0;
  } finally {
    await cleanup();
  }
}

async function bench(opts, dir) {
  const started = new Date();
  const problems = [];
  const certs = makeUpstreamCerts(dir, IP.up);
  createTopology();
  log('namespaces up');

  const upstream = spawnTracked('upstream', [...inNs(NS.up, LOAD_CPU), 'node', join(BENCH, 'upstream-server.mjs'), IP.up, certs.leafCert, certs.leafKey]);
  let upOut = '';
  upstream.stdout.on('data', (d) => (upOut += d));
  await waitFor('upstream server', () => {
    if (upstream.exitCode !== null) throw new Error(`upstream exited: ${upstream.stderrTail}`);
    return upOut.includes('ready');
  });

  if (opts.paths.includes('wg')) await startOwnTunnel(dir, { serverCpus: PROXY_CPU, agentCpus: LOAD_CPU });

  // The interceptors. Each keeps running all along; the nft redirect picks which one is in use.
  const proc = {}; // config → { pid, ca, … }
  const ca = { direct: certs.caCert };
  if (opts.configs.includes('mitmproxy')) {
    proc.mitmproxy = await startMitmproxy(dir, certs.caCert, PROXY_CPU);
    ca.mitmproxy = proc.mitmproxy.ca;
    log('mitmproxy up');
  }
  let scClient;
  if (opts.configs.includes('sandcat')) {
    if (!sandcatAvailable()) {
      problems.push('sandcat: dist/cli/commands/daemon.js is missing (no daemon command yet); sandcat not measured');
      opts.configs = opts.configs.filter((c) => c !== 'sandcat');
    } else {
      const profileDir = opts.profile ? join(dir, 'profile') : undefined;
      proc.sandcat = await startSandcat(dir, certs.caCert, PROXY_CPU, { profileDir, logLevel: opts.sandcatLogLevel });
      proc.sandcat.profileDir = profileDir;
      ca.sandcat = proc.sandcat.ca;
      if (opts.paths.includes('wg')) scClient = await startSandcatClient(dir, proc.sandcat.clientConf, { agentCpus: LOAD_CPU });
      log('sandcat daemon up');
    }
  }

  const pathOf = (config, path) => (path === 'veth' ? 'veth' : config === 'sandcat' ? 'sc' : 'wg');
  const activate = (config, path) => {
    setRedirect(config, { mitmPort: MITM_PORT, proxyPort: SC_PROXY_PORT, dnsPort: SC_DNS_PORT });
    setPath(pathOf(config, path));
  };
  const agent = (script, args, extra) => runJson([...inNs(NS.agent, LOAD_CPU), 'node', join(BENCH, 'load', script), ...args.map(String)], extra);

  // Sanity: each configuration really is what it claims (who issued the certificate the agent saw).
  const usable = {}; // `${config}/${path}` → true
  for (const path of opts.paths) {
    for (const config of opts.configs) {
      activate(config, path);
      try {
        const r = await agent('probe.mjs', [IP.up, 'h00.bench.test', ca[config]], { timeoutMs: 20_000 });
        const want = { direct: /bench upstream CA/, mitmproxy: /mitmproxy/i, sandcat: /^(?!.*bench upstream).*$/ }[config];
        if (r.status !== 200 || !want.test(r.issuer)) throw new Error(`status ${r.status}, issuer "${r.issuer}"`);
        usable[`${config}/${path}`] = true;
        log(`probe ${config}/${path}: ok (issuer "${r.issuer}")`);
      } catch (e) {
        problems.push(`${config} over ${path}: probe failed (${e.message.slice(0, 300)}); not measured`);
        log(`probe ${config}/${path} FAILED: ${e.message.slice(0, 500)}`);
      }
    }
  }

  const samples = [];
  const record = (figure, path, config, round, value, unit) => samples.push({ figure, path, config, round, value, unit });
  for (const config of Object.keys(proc)) record('rss-at-start', 'none', config, 0, (rssMiB(proc[config].pid) * 1048576) / 1e6, 'MB');
  const order = (round, configs) => configs.map((_, i) => configs[(i + round) % configs.length]);
  const configsFor = (path) => opts.configs.filter((c) => usable[`${c}/${path}`]);
  const pidOf = (config) => proc[config]?.pid;

  for (const path of opts.paths) {
    const configs = configsFor(path);
    if (!configs.length) continue;

    // Node generator by default: its connections are open and warm before the clock starts.
    // BENCH_KEEPALIVE_TOOL=wrk uses wrk instead (it times from the first connect).
    const keepAlive = async (conns, pid) => {
      if (opts.keepAliveTool === 'wrk') {
        const w = await runJson(
          [...inNs(NS.agent, LOAD_CPU), 'wrk', '-t1', `-c${conns}`, `-d${opts.seconds}s`, '--timeout', '10s', '-s', join(BENCH, 'wrk-report.lua'), 'https://h00.bench.test/'],
          { timeoutMs: (opts.seconds + 30) * 1000 },
        );
        const errors = w.connect + w.read + w.write + w.status + w.timeout;
        return { requests: w.requests, errors, firstError: '', rate: (w.requests - w.status) / (w.duration_us / 1e6), cpu: NaN };
      }
      let cpu0 = NaN;
      let cpu = NaN;
      const onLine = (line) => {
        if (!pid) return;
        if (line === 'counting') cpu0 = cpuSeconds(pid);
        if (line === 'stopped') cpu = cpuSeconds(pid) - cpu0;
      };
      const k = await agent('keepalive.mjs', [IP.up, 'h00.bench.test', conns, opts.seconds, 1], { timeoutMs: (opts.seconds + 120) * 1000, onLine });
      return { requests: k.ok + k.bad, errors: k.bad, firstError: k.firstError, rate: k.rate, cpu };
    };
    if (opts.figures.has(1)) {
      for (const conns of [1, 16, 128]) {
        for (let round = 0; round < opts.rounds; round++) {
          for (const config of order(round, configs)) {
            activate(config, path);
            const pid = pidOf(config);
            const r = await keepAlive(conns, pid);
            const cpu = r.cpu;
            if (r.errors > r.requests * 0.01) problems.push(`keep-alive c${conns} ${config}/${path} round ${round}: ${r.errors} errors of ${r.requests} (${r.firstError})`);
            record(`keepalive-rps-c${conns}`, path, config, round, r.rate, 'req/s');
            if (pid && r.requests && Number.isFinite(cpu)) record(`cpu-per-request-c${conns}`, path, config, round, (cpu / r.requests) * 1e6, 'µs');
          }
        }
        log(`figure 1 (keep-alive, ${conns} connections, ${path}) done`);
      }
    }

    if (opts.figures.has(2)) {
      for (let round = 0; round < opts.rounds; round++) {
        for (const config of order(round, configs)) {
          activate(config, path);
          const r = await agent('new-conns.mjs', [IP.up, opts.seconds, 16], { timeoutMs: (opts.seconds + 60) * 1000 });
          if (r.failed > r.ok * 0.01) problems.push(`new connections ${config}/${path} round ${round}: ${r.failed} failed (${r.firstError})`);
          record('new-tls-conns', path, config, round, r.rate, 'conn/s');
        }
      }
      log(`figure 2 (new TLS connections, ${path}) done`);
    }

    if (opts.figures.has(3)) {
      for (let round = 0; round < opts.rounds; round++) {
        for (const config of order(round, configs)) {
          activate(config, path);
          const r = await agent('latency.mjs', [IP.up, 'h01.bench.test', opts.latencySamples, 200], { timeoutMs: 300_000 });
          record('latency-p50', path, config, round, r.p50, 'ms');
          record('latency-p99', path, config, round, r.p99, 'ms');
        }
        const direct = samples.filter((s) => s.path === path && s.round === round && s.config === 'direct');
        for (const s of samples.filter((x) => x.path === path && x.round === round && x.config !== 'direct' && x.figure.startsWith('latency-'))) {
          const d = direct.find((x) => x.figure === s.figure);
          if (d) record(`added-${s.figure}`, path, s.config, round, s.value - d.value, 'ms');
        }
      }
      log(`figure 3 (latency, ${path}) done`);
    }

    if (opts.figures.has(4)) {
      for (const direction of ['down', 'up']) {
        for (let round = 0; round < opts.rounds; round++) {
          for (const config of order(round, configs)) {
            activate(config, path);
            const pid = pidOf(config);
            const peak = pid ? rssPeakSampler(pid) : null;
            const r = await agent('bulk.mjs', [IP.up, 'h02.bench.test', opts.bulkBytes, direction], { timeoutMs: 1_800_000 });
            record(direction === 'down' ? 'bulk-download' : 'bulk-upload', path, config, round, r.bytes / 1e6 / r.seconds, 'MB/s');
            if (peak) record(`peak-rss-bulk-${direction === 'down' ? 'download' : 'upload'}`, path, config, round, (peak() * 1048576) / 1e6, 'MB');
          }
        }
        log(`figure 4 (bulk ${direction}, ${path}) done`);
      }
    }
  }

  // Figure 5: RSS with idle connections, veth path (memory does not depend on the tunnel).
  if (opts.figures.has(5) && opts.paths.includes('veth')) {
    const configs = configsFor('veth').filter((c) => pidOf(c));
    for (const config of configs) record('rss-before-idle', 'veth', config, 0, (rssMiB(pidOf(config)) * 1048576) / 1e6, 'MB');
    // A proxied connection holds two descriptors (agent leg, upstream leg). Where the hard limit
    // (which needs CAP_SYS_RESOURCE to raise) is below that, measure at the most that fits and
    // extrapolate linearly from the smallest count; the JSON says so.
    const fits = Math.floor((HARD_NOFILE - 256) / 2);
    const measured = new Map(); // config → [[count, MB]]
    for (const wanted of opts.idle) {
      const count = Math.min(wanted, fits);
      for (const config of configs) {
        activate(config, 'veth');
        const pid = pidOf(config);
        const child = spawnTracked(`idle ${count}`, [...inNs(NS.agent, LOAD_CPU), 'node', join(BENCH, 'load', 'idle.mjs'), IP.up, count, 64], { nofile: count + 1024 });
        let out = '';
        child.stdout.on('data', (d) => (out += d));
        try {
          await waitFor(`${count} idle connections through ${config}`, () => {
            if (child.exitCode !== null) throw new Error(`idle generator exited: ${child.stderrTail.slice(-1000)}`);
            return out.includes('\n');
          }, 900_000, 250);
          const r = JSON.parse(out.split('\n')[0]);
          if (r.failed) problems.push(`idle ${count} via ${config}: ${r.failed} failed (${r.firstError})`);
          await sleep(3000); // let allocations settle
          const mb = (rssMiB(pid) * 1048576) / 1e6;
          record(`idle-rss-${count}`, 'veth', config, 0, mb, 'MB');
          if (opts.idleLateSeconds > 0) {
            // Later, once idle pooled upstream sockets may have been released by the interceptor.
            await sleep(opts.idleLateSeconds * 1000);
            record(`idle-rss-${count}-late`, 'veth', config, 0, (rssMiB(pid) * 1048576) / 1e6, 'MB');
          }
          record(`idle-open-${count}`, 'veth', config, 0, r.open, 'connections');
          measured.set(config, [...(measured.get(config) ?? []), [r.open, mb]]);
          if (count < wanted) {
            const [first] = measured.get(config);
            if (first && first[0] < r.open) {
              const slope = (mb - first[1]) / (r.open - first[0]);
              record(`idle-rss-${wanted}`, 'veth', config, 0, mb + slope * (wanted - r.open), 'MB');
              problems.push(`idle-rss-${wanted} for ${config} is extrapolated from ${r.open} open connections (hard fd limit ${HARD_NOFILE}; ${Math.round((slope * 1e6) / 1024)} KiB per connection)`);
            }
          }
        } catch (e) {
          problems.push(`idle ${count} via ${config}: ${e.message.slice(0, 300)}`);
        } finally {
          await stop(child);
        }
        await sleep(3000); // let the interceptor close its upstream legs before the next one
        log(`figure 5 (${count} idle connections, ${config}) done`);
      }
    }
  }

  // Figure 6: DNS through the daemon (veth: redirected port 53; wg: the tunnel's DNS address).
  if (opts.figures.has(6) && proc.sandcat) {
    for (const path of opts.paths) {
      if (!usable[`sandcat/${path}`]) continue;
      activate('sandcat', path);
      const server = path === 'veth' ? IP.proxyA : scClient?.dns;
      for (const kind of ['allowed', 'denied']) {
        for (let round = 0; round < opts.rounds; round++) {
          const r = await agent('dns.mjs', [server, 53, opts.seconds, 64, kind], { timeoutMs: (opts.seconds + 30) * 1000 });
          const okCodes = kind === 'allowed' ? (r.rcodes['0'] ?? 0) : r.answered - (r.rcodes['0'] ?? 0);
          if (r.answered && okCodes < r.answered * 0.99) problems.push(`dns ${kind}/${path}: answer codes ${JSON.stringify(r.rcodes)}`);
          if (r.lost > r.answered * 0.01) problems.push(`dns ${kind}/${path} round ${round}: ${r.lost} lost of ${r.answered}`);
          record(`dns-qps-${kind}`, path, 'sandcat', round, r.rate, 'q/s');
        }
      }
      log(`figure 6 (DNS, ${path}) done`);
    }
  }

  // Figure 7: policy microbenchmark, in this process.
  if (opts.figures.has(7)) {
    const r = await policyMicrobench(opts.rounds + 2);
    r.mixed.forEach((v, i) => record('policy-ns-per-decision', 'none', 'sandcat', i, v, 'ns'));
    r.miss.forEach((v, i) => record('policy-ns-per-decision-miss', 'none', 'sandcat', i, v, 'ns'));
    log('figure 7 (policy) done');
  }

  let profileTop;
  if (proc.sandcat?.profileDir) {
    await stop(proc.sandcat.child, 10_000);
    profileTop = summarizeProfiles(proc.sandcat.profileDir);
  }

  const result = assemble(opts, started, samples, problems);
  if (profileTop) result.meta.profileTop = profileTop;
  mkdirSync(dirname(opts.out), { recursive: true });
  writeFileSync(opts.out, JSON.stringify(result, null, 2) + '\n');
  printTable(result);
  if (profileTop) {
    process.stdout.write(`\nsandcat daemon CPU profile (${profileTop.busyMs} ms busy), top self time:\n`);
    for (const f of profileTop.self) process.stdout.write(`  ${f.percent.toFixed(1).padStart(5)}%  ${f.frame}\n`);
    process.stdout.write('sandcat functions (dist/), inclusive time:\n');
    for (const f of profileTop.inclusive) process.stdout.write(`  ${f.percent.toFixed(1).padStart(5)}%  ${f.frame}\n`);
  }
  process.stdout.write(`\nwrote ${opts.out}\n`);
}

function assemble(opts, started, samples, problems) {
  const keys = new Map();
  for (const s of samples) keys.set(`${s.figure}|${s.path}|${s.config}`, s);
  const figures = [];
  for (const [key, s] of keys) {
    const values = samples.filter((x) => `${x.figure}|${x.path}|${x.config}` === key).map((x) => x.value);
    figures.push({ figure: s.figure, path: s.path, config: s.config, ...summarize(values), unit: s.unit });
  }
  const ratios = [];
  const figPaths = new Map();
  for (const s of samples) figPaths.set(`${s.figure}|${s.path}`, { figure: s.figure, path: s.path });
  for (const { figure, path } of figPaths.values()) {
    if (figure.startsWith('added-') || figure.startsWith('idle-open')) continue;
    const vsMitm = pairedRatio(samples, figure, path, 'sandcat', 'mitmproxy');
    const vsDirect = pairedRatio(samples, figure, path, 'sandcat', 'direct');
    if (vsMitm || vsDirect) ratios.push({ figure, path, 'sandcat/mitmproxy': vsMitm, 'sandcat/direct': vsDirect });
  }
  const version = (cmd, args) => {
    try {
      return sh(cmd, args, { allowFail: true }).split('\n')[0].trim();
    } catch {
      return 'unknown';
    }
  };
  const result = {
    meta: {
      date: started.toISOString(),
      durationSeconds: Math.round((Date.now() - started.getTime()) / 1000),
      machine: {
        cpu: os.cpus()[0]?.model,
        cores: CPUS,
        memoryGB: Math.round(os.totalmem() / 1e9),
        kernel: os.release(),
        node: process.version,
        mitmproxy: version('mitmdump', ['--version']),
        wrk: version('wrk', ['-v']),
        wireguardGo: version('wireguard-go', ['--version']),
      },
      sizes: {
        secondsPerSample: opts.seconds,
        rounds: opts.rounds,
        bulkBytes: opts.bulkBytes,
        idleConnections: opts.idle,
        latencySamples: opts.latencySamples,
        newConnectionConcurrency: 16,
        dnsInflight: 64,
        hostNames: 50,
        smallResponseBytes: 1024,
        policyRules: 1000,
      },
      pinning: LOAD_CPU === undefined ? 'none (one core)' : `interceptor and proxy-side WireGuard on CPU ${PROXY_CPU}; load generators, upstream and agent WireGuard on CPU ${LOAD_CPU}`,
      configs: opts.configs,
      sandcatLogLevel: opts.sandcatLogLevel,
      paths: opts.paths,
      problems,
    },
    figures,
    ratios,
  };
  result.targets = evaluateTargets(result);
  return result;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    log(err?.stack ?? String(err));
    process.exit(1);
  },
);

