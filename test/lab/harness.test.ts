/**
 * The lab harness itself (no daemon): namespaces, veth links, the upstream servers and their
 * logs, and a destroy() that leaves nothing behind. Other lab tests build on this.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, execIn, LAB_IP, labSkipReason, type Lab } from './lib/index.js';

const skip = labSkipReason();
if (skip) console.warn(`skipping lab harness test: ${skip}`);

describe.skipIf(skip)('lab harness', () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await createLab({ tag: 'h1h', startDaemon: false });
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  it('serves HTTPS with the test CA from the upstream namespace and logs the request', async () => {
    const r = await lab.exec('proxy', 'curl', ['-sS', '--cacert', lab.dirs.upstreamCa, '--resolve', `api.allowed.test:443:${LAB_IP.upstream4}`, '-H', 'x-probe: 1', 'https://api.allowed.test/echo']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ method: 'GET', path: '/echo' });
    const seen = lab.upstreamRequests({ host: 'api.allowed.test' });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ scheme: 'https', sni: 'api.allowed.test', method: 'GET' });
    expect(seen[0].headers['x-probe']).toBe('1');
  });

  it('serves IPv6 and plain HTTP', async () => {
    const r = await lab.exec('proxy', 'curl', ['-sS', `http://[${LAB_IP.upstream6}]/`, '-H', 'host: plain.allowed.test']);
    expect(r.stdout).toBe('hello from plain.allowed.test over http\n');
  });

  it('answers DNS and logs every query, including names it does not know', async () => {
    const a = await lab.exec('proxy', 'dig', ['+short', `@${LAB_IP.upstream4}`, 'api.allowed.test', 'A']);
    expect(a.stdout.trim()).toBe(LAB_IP.upstream4);
    const nx = await lab.exec('proxy', 'dig', ['+tcp', `@${LAB_IP.upstream6}`, 'nothing.test', 'AAAA']);
    expect(nx.stdout).toMatch(/status: NXDOMAIN/);
    expect(lab.dnsQueries('api.allowed.test')).toHaveLength(1);
    expect(lab.dnsQueries('nothing.test')[0]).toMatchObject({ proto: 'tcp', type: 'AAAA' });
  });

  it('echoes WebSocket messages over HTTPS and HTTP, and raw TCP', async () => {
    const script = `
      import WebSocket from 'ws';
      const one = (url) => new Promise((res, rej) => {
        const ws = new WebSocket(url, { ca: process.env.CA, servername: 'api.allowed.test', headers: { host: 'api.allowed.test' } });
        ws.on('open', () => ws.send('ping'));
        ws.on('message', (m) => { res(String(m)); ws.close(); });
        ws.on('error', rej);
      });
      console.log(await one('wss://${LAB_IP.upstream4}/ws'), await one('ws://${LAB_IP.upstream4}/ws'));`;
    const r = await lab.exec('proxy', process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, CA: lab.pki.caPem, NODE_PATH: '' } });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('ping ping');
    expect(lab.upstreamEvents().filter((e) => e.kind === 'ws-message')).toHaveLength(2);
  });

  it('keeps the agent namespace cut off until a tunnel exists', async () => {
    const r = await lab.exec('agent', 'curl', ['-sS', '-m', '2', `http://${LAB_IP.upstream4}/`]);
    expect(r.code).not.toBe(0);
  });

  it('destroy() removes namespaces and /etc/netns dirs', async () => {
    const names = Object.values(lab.ns);
    await lab.destroy();
    const list = (await execIn(null, 'ip', ['netns', 'list'])).stdout;
    for (const n of names) {
      expect(list).not.toContain(n);
      expect(existsSync(`/etc/netns/${n}`)).toBe(false);
    }
  });
});
