/**
 * Shared helpers for the red-team lab tests (test/lab/attacks*.test.ts): a raw client in the agent
 * namespace (attacks-client.py), the daemon's pid and memory, and a liveness check.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { onJsonLines, onLines, runningProcesses, stopChild, waitFor, type Lab } from './lib/index.js';

const HERE = import.meta.dirname;
export const CLIENT = join(HERE, 'attacks-client.py');
export const EVIL_UPSTREAM = join(HERE, 'attacks-upstream.mjs');

/** One item of a connection's payload (see attacks-client.py). */
export type SendItem = string | { hex: string } | { b64: string } | { repeat: string; times: number } | { hello: { sni?: string; alpn?: string[]; truncate?: number; append_hex?: string } } | { pause: number };

export interface ProbeSpec {
  host: string;
  port: number;
  tls?: boolean;
  sni?: string;
  ca?: string;
  alpn?: string[];
  verify?: boolean;
  delay?: number;
  send?: SendItem[];
  read_timeout?: number;
  read_until_close?: boolean;
}

export interface ProbeResult {
  connected: boolean;
  tls: string | null;
  /** Everything read until close/timeout, latin1. */
  data: string;
  /** Python exception name: ConnectionResetError, TimeoutError, SSLError, … (null when the peer closed cleanly). */
  error: string | null;
  elapsed: number;
  peer_issuer?: Record<string, string> | null;
}

async function runClient<T>(lab: Lab, spec: unknown, timeoutMs: number): Promise<T> {
  const r = await lab.exec('agent', 'python3', [CLIENT, JSON.stringify(spec)], { timeoutMs });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as T;
  } catch {
    throw new Error(`attacks-client.py failed (${r.code}): ${r.stderr || r.stdout}`);
  }
}

function withCa(lab: Lab, spec: ProbeSpec): ProbeSpec {
  return spec.tls && spec.verify !== false && !spec.ca ? { ...spec, ca: join(lab.dirs.public, 'ca.pem') } : spec;
}

/** One raw connection from the agent namespace. TLS probes trust sandcat's CA unless verify:false. */
export function probe(lab: Lab, spec: ProbeSpec, timeoutMs = 30_000): Promise<ProbeResult> {
  return runClient<ProbeResult>(lab, withCa(lab, spec), timeoutMs);
}

/** Several connections one after the other, in one client process (cheaper than one each). */
export function probeAll(lab: Lab, specs: readonly ProbeSpec[], timeoutMs = 60_000): Promise<ProbeResult[]> {
  return runClient<ProbeResult[]>(lab, specs.map((s) => withCa(lab, s)), timeoutMs);
}

/** Open `many` connections from the agent, send `send` on each, hold them `hold` seconds. */
export function probeMany(lab: Lab, spec: { host: string; port: number; many: number; send?: SendItem[]; hold: number }): Promise<{ opened: number; failed: number; still_open: number }> {
  return runClient(lab, spec, (spec.hold + 60) * 1000);
}

/** One UDP datagram from the agent: the answer (hex) or the error (ConnectionRefusedError on ICMP). */
export function probeUdp(lab: Lab, host: string, port: number, hex = '00'): Promise<{ answer: string | null; error: string | null }> {
  return runClient(lab, { udp: true, host, port, hex }, 10_000);
}

/** Status line of a raw HTTP response ('' when none arrived). */
export function statusOf(data: string): number {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(data);
  return m ? Number(m[1]) : 0;
}

/** Every HTTP status line in a raw stream of pipelined responses. */
export function statusesOf(data: string): number[] {
  return [...data.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => Number(m[1]));
}

/** The lab daemon's pid, found by its unique settings path (the lab does not expose it). */
export function daemonPid(lab: Lab): number {
  for (const { pid, argv } of runningProcesses()) {
    if (argv.includes('daemon') && argv.includes(lab.dirs.userSettings) && argv.some((a) => a.endsWith('bin/sandcat'))) return pid;
  }
  throw new Error('the lab daemon is not running');
}

/** Resident set size of a process, KiB. */
export function rssKb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]);
}

/** The daemon still answers an allowed HTTPS request (HTTP/1.1) with the upstream's body. */
export async function allowedStillWorks(lab: Lab, url = 'https://api.allowed.test/'): Promise<boolean> {
  const r = await lab.agentCurl(['--http1.1', url]);
  return r.status === 200 && r.body.startsWith('hello from');
}

/** DNS queries as fast as the agent can send them; answers counted by rcode ("0" NOERROR, "5" REFUSED…). */
export function dnsFlood(lab: Lab, spec: { host: string; names: string[]; count: number; qtype?: number; window?: number; read_timeout?: number }): Promise<{ sent: number; answered: number; rcodes: Record<string, number>; elapsed: number }> {
  return runClient(lab, { flood: true, ...spec }, 120_000);
}

export interface EvilConfig {
  tlsPort?: number;
  plainPort?: number;
  dnsPort?: number;
  /** DNS zone of attacks-upstream.mjs: name → {CNAME} | {A, AAAA, TXT}. */
  zone?: Record<string, { CNAME?: string; A?: string[]; AAAA?: string[]; TXT?: string[] }>;
}

export interface EvilUpstream {
  events: Array<{ kind: string; [k: string]: unknown }>;
  stop(): Promise<void>;
}

/**
 * Start attacks-upstream.mjs in the upstream namespace: an upstream that reflects the secret value it
 * received through every response channel, and a DNS server with CNAME chains.
 */
export async function startEvilUpstream(lab: Lab, config: EvilConfig): Promise<EvilUpstream> {
  const events: EvilUpstream['events'] = [];
  const child = lab.spawnUpstream(EVIL_UPSTREAM, [], { ...process.env, EVIL_CONFIG: JSON.stringify({ certPem: lab.pki.certPem, keyPem: lab.pki.keyPem, ...config }) });
  let err = '';
  onLines(child.stderr, (l) => (err += l + '\n'));
  onJsonLines<EvilUpstream['events'][number]>(child.stdout, (e) => events.push(e));
  const want = [config.tlsPort, config.plainPort, config.dnsPort].filter(Boolean).length;
  await waitFor('the evil upstream', () => {
    if (child.exitCode !== null) throw new Error(`attacks-upstream.mjs exited: ${err}`);
    return events.filter((e) => e.kind === 'ready').length >= want;
  });
  return { events, stop: async () => void (await stopChild(child, 'SIGTERM', 2000)) };
}
