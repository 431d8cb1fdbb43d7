/**
 * `sandcat wg-client` for real, without Docker: the lab's agent namespace is set up by the command
 * itself (kill switch, tunnel, policy routing, tunnel-mode DNS) against the real daemon, and the
 * checks run from that namespace. The agent's veth subnet plays the compose network: a "sibling"
 * listener on it stays reachable, the proxy's own address does not, and nothing leaves the veth
 * directly. Killing wireguard-go leaks nothing and the tunnel comes back by itself.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, execIn, labSkipReason, LAB_IP, mustExec, onLines, REPO_ROOT, sleep, spawnIn, stopChild, waitFor, type Lab } from './lib/index.js';

const skip = labSkipReason();
const SIBLING = '10.200.0.3';
const SIBLING_PORT = 8089;
const NFT_TABLE = 'h5_client';

/** TCP connect from the agent namespace; prints "open" or the error code. */
async function probe(lab: Lab, host: string, port: number): Promise<string> {
  const js = `const s=require('net').connect({port:${port},host:${JSON.stringify(host)}});s.setTimeout(3000,()=>{console.log('TIMEOUT');process.exit(2)});s.on('connect',()=>{console.log('open');process.exit(0)}).on('error',e=>{console.log(e.code);process.exit(1)})`;
  return (await lab.exec('agent', process.execPath, ['-e', js], { timeoutMs: 10_000 })).stdout.trim();
}

describe.skipIf(skip)('sandcat wg-client in a network namespace (lab)', () => {
  let lab: Lab;
  let client: ChildProcess | null = null;
  let sibling: ChildProcess | null = null;
  const logs: string[] = [];
  let readyFile = '';

  beforeAll(async () => {
    lab = await createLab({ tag: 'h5', startAgent: false, settings: { network: [{ action: 'allow', host: 'api.allowed.test' }] } });
    // A "gateway" on the agent's underlay, as Docker gives every container, and a sibling service
    // on the same subnet (an extra address in the proxy namespace, where a listener answers).
    await mustExec(lab.ns.agent, 'ip', ['-4', 'route', 'replace', 'default', 'via', LAB_IP.proxyUnderlay]);
    await mustExec(lab.ns.proxy, 'ip', ['addr', 'add', `${SIBLING}/24`, 'dev', lab.iface.proxyVethAgent]);
    sibling = spawnIn(lab.ns.proxy, process.execPath, ['-e', `require('net').createServer(s=>s.end('sibling\\n')).listen(${SIBLING_PORT},'0.0.0.0')`]);
    const resolv = `/etc/netns/${lab.ns.agent}/resolv.conf`;
    mkdirSync(`/etc/netns/${lab.ns.agent}`, { recursive: true });
    writeFileSync(resolv, `nameserver ${LAB_IP.proxyUnderlay}\n`);
    readyFile = join(lab.dirs.root, 'wg-client-ready');
    client = spawnIn(lab.ns.agent, process.execPath, [
      join(REPO_ROOT, 'bin/sandcat'), 'wg-client',
      '--config', join(lab.dirs.wg, 'client.conf'),
      '--wg-interface', lab.iface.wgClient,
      '--nft-table', NFT_TABLE,
      '--ready-file', readyFile,
      '--state-dir', join(lab.dirs.root, 'wg-client-state'),
      '--resolv-conf', resolv,
      '--wait', '30',
    ], { deathSignal: 'TERM' });
    onLines(client.stderr, (l) => logs.push(l));
    const c = client;
    await waitFor('the wg-client ready marker', () => {
      if (c.exitCode !== null) throw new Error(`wg-client exited ${c.exitCode}:\n${logs.join('\n')}`);
      return existsSync(readyFile);
    }, 30_000);
    await lab.waitForTunnel();
  }, 120_000);

  afterAll(async () => {
    if (client) await stopChild(client, 'SIGTERM', 5000);
    if (sibling) await stopChild(sibling, 'SIGTERM', 2000);
    // wireguard-go dies with wg-client (setpriv --pdeathsig); make sure, since it outlives namespaces.
    const left = await execIn(null, 'pgrep', ['-f', `wireguard-go -f ${lab?.iface.wgClient}`]);
    expect(left.stdout.trim(), 'a wireguard-go survived wg-client').toBe('');
    await lab?.destroy();
  }, 60_000);

  it('installs the kill switch (policy drop, v4+v6) and tunnel-mode DNS', async () => {
    const table = await mustExec(lab.ns.agent, 'nft', ['list', 'table', 'inet', NFT_TABLE]);
    expect(table).toMatch(/hook output priority filter; policy drop;/);
    expect(table).toContain(`ip daddr ${LAB_IP.proxyUnderlay}`);
    expect(table).toContain('ip daddr 127.0.0.11');
    const resolv = await mustExec(lab.ns.agent, 'cat', ['/etc/resolv.conf']);
    expect(resolv).toContain(`nameserver ${LAB_IP.tunnel4}`);
    expect(resolv).not.toContain(LAB_IP.proxyUnderlay);
    // Info lines are written in batches (at most ~100 ms late), so wait for it.
    await waitFor('the tunnel-mode DNS log line', () => logs.join('\n').includes('"mode":"tunnel"'), 2000);
  });

  it('an allowed name works through the tunnel; a denied one is refused at DNS', async () => {
    const ok = await lab.agentCurl(['--http1.1', 'https://api.allowed.test/echo']);
    expect(ok.status, ok.stderr).toBe(200);
    const denied = await lab.agentDig('denied.test');
    expect(denied.status).toBe('REFUSED');
  });

  it('the compose-like subnet stays reachable, the proxy and direct egress do not', async () => {
    expect(await probe(lab, SIBLING, SIBLING_PORT)).toBe('open');
    for (const port of [3129, 5353]) expect(['EHOSTUNREACH', 'EACCES', 'EPERM', 'ENETUNREACH', 'TIMEOUT']).toContain(await probe(lab, LAB_IP.proxyUnderlay, port));
    // Straight out of the veth (SO_BINDTODEVICE), bypassing the tunnel: the upstream is one hop
    // away through the proxy namespace, which routes between its veths.
    const r = await lab.exec('agent', 'curl', ['-sS', '-m', '3', '--interface', lab.iface.agentVeth, `http://${LAB_IP.upstream4}/`]);
    expect(r.code).not.toBe(0);
  });

  it('when wireguard-go dies nothing leaks, and the tunnel comes back by itself', async () => {
    const pid = (await execIn(null, 'pgrep', ['-f', `wireguard-go -f ${lab.iface.wgClient}$`])).stdout.trim().split('\n')[0];
    expect(pid).toMatch(/^\d+$/);
    process.kill(Number(pid), 'SIGKILL');
    await waitFor('the tunnel interface to go', async () => (await execIn(lab.ns.agent, 'ip', ['link', 'show', lab.iface.wgClient])).code !== 0, 5000, 20).catch(() => undefined);
    // While it is down: routing answers "unreachable", the kill switch stays.
    const during = await lab.exec('agent', 'ip', ['route', 'get', LAB_IP.upstream4]);
    if (during.code === 0) expect(during.stdout).not.toContain(lab.iface.agentVeth);
    await waitFor('the tunnel to come back', async () => (await execIn(lab.ns.agent, 'ip', ['link', 'show', lab.iface.wgClient])).code === 0, 15_000, 100);
    await waitFor('the ready marker again', () => existsSync(readyFile), 15_000, 100);
    let ok = await lab.agentCurl(['--http1.1', 'https://api.allowed.test/echo']);
    for (let i = 0; i < 10 && ok.status !== 200; i++) {
      await sleep(1000);
      ok = await lab.agentCurl(['--http1.1', 'https://api.allowed.test/echo']);
    }
    expect(ok.status, ok.stderr).toBe(200);
    expect(logs.join('\n')).toContain('tunnel restored');
  }, 60_000);
});
