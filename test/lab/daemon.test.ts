/**
 * Issue 2, end to end: an agent in its own namespace sends real traffic through a real
 * WireGuard tunnel (wireguard-go) into `./bin/sandcat daemon`, which resolves, intercepts,
 * allows, denies and substitutes it; the upstream namespace records what actually arrived.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, LAB_IP, labSkipReason, waitFor, type Lab } from './lib/index.js';

const skip = labSkipReason();
if (skip) console.warn(`skipping the daemon lab test: ${skip}`);

const SECRET = 'real-secret-value-123';
const PLACEHOLDER = 'SANDCAT_PLACEHOLDER_TOKEN';
/**
 * Issue 2 covers HTTP/1.1; curl would otherwise negotiate h2 by ALPN (covered by the proxy's own
 * HTTP/2 lab tests).
 */
const CURL = ['--http1.1'];
/** Every character a careless quoting would break on. */
const TRICKY = `it's "quoted" $HOME \`id\` \\ back\nline two; rm -rf / & | * ? ~ é`;

const SETTINGS = {
  env: { GREETING: TRICKY, PLAIN: 'hello' },
  secrets: { TOKEN: { value: SECRET, hosts: ['api.allowed.test'] } },
  network: [
    // DNS ignores methods, so the GET allow comes first (it lets the name resolve); the POST
    // deny then decides POSTs. (A leading method deny would also refuse the name's lookups.)
    { action: 'allow', host: 'api.allowed.test', method: 'GET' },
    { action: 'deny', host: 'api.allowed.test', method: 'POST' },
    { action: 'allow', host: 'other.allowed.test' },
    { action: 'allow', host: 'plain.allowed.test' },
  ],
};

describe.skipIf(skip)('sandcat daemon in the lab (issue 2)', () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await createLab({ tag: 'h1d', settings: SETTINGS });
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  /** Run a shell script in the agent namespace with sandcat.env sourced, as an agent would. */
  const agentShell = (script: string, shell = 'bash') => lab.exec('agent', shell, ['-c', `. ${join(lab.dirs.public, 'sandcat.env')}\n${script}`]);

  it('writes the public files and a wg-quick client config', () => {
    expect(lab.readPublic('ca.pem')).toMatch(/BEGIN CERTIFICATE/);
    expect(existsSync(join(lab.dirs.public, 'ready'))).toBe(true);
    const conf = readFileSync(join(lab.dirs.wg, 'client.conf'), 'utf8');
    expect(conf).toMatch(/^Address = 10\.77\.0\.2\/24, fd00:77::2\/64$/m);
    expect(conf).toMatch(/^DNS = 10\.77\.0\.1, fd00:77::1$/m);
    expect(conf).toMatch(/^MTU = 1420$/m);
    expect(conf).toMatch(/^AllowedIPs = 0\.0\.0\.0\/0, ::\/0$/m);
    expect(conf).toMatch(new RegExp(`^Endpoint = ${LAB_IP.proxyUnderlay.replace(/\./g, '\\.')}:${LAB_IP.wgPort}$`, 'm'));
  });

  it('answers an allowed name through the upstream DNS server', async () => {
    const r = await lab.agentDig('api.allowed.test', 'A');
    expect(r.status).toBe('NOERROR');
    expect(r.answers).toContain(LAB_IP.upstream4);
    expect(lab.dnsQueries('api.allowed.test').length).toBeGreaterThan(0);
  });

  it('allowed HTTPS GET: 200 with the upstream body, through sandcat’s CA', async () => {
    const r = await lab.agentCurl([...CURL, 'https://api.allowed.test/']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(200);
    expect(r.body).toBe('hello from api.allowed.test over https\n');
    expect(lab.upstreamRequests({ host: 'api.allowed.test', method: 'GET', path: '/' })).toHaveLength(1);
  });

  it('a POST denied by a method rule gets 403 and never reaches the upstream', async () => {
    const r = await lab.agentCurl([...CURL, '-X', 'POST', '--data', 'payload', 'https://api.allowed.test/echo']);
    expect(r.status).toBe(403);
    expect(r.body).toMatch(/POST/);
    expect(r.body).toMatch(/api\.allowed\.test/);
    expect(lab.upstreamRequests({ method: 'POST' })).toHaveLength(0);
  });

  it('a denied name is REFUSED with zero upstream DNS queries for it', async () => {
    const before = lab.dnsQueries().length;
    for (const type of ['A', 'AAAA', 'TXT']) {
      const r = await lab.agentDig('denied.test', type);
      expect(r.status).toBe('REFUSED');
    }
    // Asking another resolver directly is captured too (port 53 is redirected whatever the address).
    const direct = await lab.agentDig('denied.test', 'A', ['@1.1.1.1']);
    expect(direct.status).toBe('REFUSED');
    const tcp = await lab.agentDig('denied.test', 'A', ['+tcp']);
    expect(tcp.status).toBe('REFUSED');
    expect(lab.dnsQueries('denied.test')).toHaveLength(0);
    expect(lab.dnsQueries().length).toBe(before);
  });

  it('sandcat.env gives back exactly the configured values in sh and bash', async () => {
    for (const shell of ['sh', 'bash']) {
      const r = await agentShell('printf "%s|%s|%s" "$GREETING" "$PLAIN" "$TOKEN"', shell);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`${TRICKY}|hello|${PLACEHOLDER}`);
    }
    expect(lab.readPublic('sandcat.env')).not.toContain(SECRET);
  });

  it('substitutes a secret toward its host: the upstream sees the value, the agent only the placeholder', async () => {
    lab.clearUpstreamLog();
    const r = await agentShell(`curl --http1.1 -sS --cacert ${join(lab.dirs.public, 'ca.pem')} -H "Authorization: Bearer $TOKEN" "https://api.allowed.test/echo?token=$TOKEN"`);
    expect(r.code).toBe(0);
    const [seen] = lab.upstreamRequests({ host: 'api.allowed.test' });
    expect(seen.headers.authorization).toBe(`Bearer ${SECRET}`);
    expect(seen.path).toBe(`/echo?token=${SECRET}`);
    // The upstream echoed the real value back; the agent must not see it.
    expect(r.stdout).not.toContain(SECRET);
    expect(r.stdout).toContain(PLACEHOLDER);
  });

  it('a placeholder sent to another allowed host gets 403 and nothing reaches that upstream', async () => {
    lab.clearUpstreamLog();
    const r = await agentShell(`curl --http1.1 -sS --cacert ${join(lab.dirs.public, 'ca.pem')} -w '\\n%{http_code}' -H "Authorization: Bearer $TOKEN" https://other.allowed.test/echo`);
    expect(r.stdout.trim().split('\n').pop()).toBe('403');
    expect(r.stdout).toMatch(/TOKEN/);
    expect(lab.upstreamRequests({ host: 'other.allowed.test' })).toHaveLength(0);
    // The same host without the placeholder is allowed.
    const ok = await lab.agentCurl([...CURL, 'https://other.allowed.test/']);
    expect(ok.status).toBe(200);
  });

  it('plain HTTP to an allowed host works', async () => {
    const r = await lab.agentCurl([...CURL, 'http://plain.allowed.test/']);
    expect(r.status).toBe(200);
    expect(r.body).toBe('hello from plain.allowed.test over http\n');
  });

  it('HTTPS to a bare IP that no rule allows is denied', async () => {
    lab.clearUpstreamLog();
    const r = await lab.agentCurl([...CURL, '-k', `https://${LAB_IP.upstream4}/`]);
    expect(r.status).not.toBe(200);
    if (r.status !== 0) expect(r.status).toBe(403);
    expect(lab.upstreamRequests()).toHaveLength(0);
  });

  it('UDP other than DNS is rejected at once (ICMP port-unreachable, so QUIC falls back)', async () => {
    // bash's /dev/udp gives a connected UDP socket: once the ICMP error is back, the next
    // write fails with ECONNREFUSED (a silent drop would let both writes succeed).
    for (const host of [LAB_IP.upstream4, LAB_IP.upstream6]) {
      const r = await lab.exec('agent', 'bash', ['-c', `exec 3<>/dev/udp/${host}/443; echo quic >&3; sleep 0.5; echo again >&3`]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/Connection refused/);
    }
  });

  it('SIGHUP applies new settings without a restart and rewrites sandcat.env', async () => {
    lab.writeSettings({ ...SETTINGS, env: { ...SETTINGS.env, PLAIN: 'changed' }, network: [...SETTINGS.network, { action: 'allow', host: 'denied.test' }] });
    try {
      const before = lab.daemonLogs().length;
      await lab.reloadDaemon();
      // The reload line says what changed (rule count, env names), never a value.
      const line = lab.daemonLogs().slice(before).find((l) => l.event === 'reload');
      expect(String(line?.change)).toMatch(/rules \d+ → \d+; .*env changed PLAIN/);
      expect((await lab.agentDig('denied.test', 'A')).status).toBe('NOERROR');
      expect((await agentShell('printf %s "$PLAIN"')).stdout).toBe('changed');
    } finally {
      lab.writeSettings(SETTINGS);
      await lab.reloadDaemon();
    }
    expect((await lab.agentDig('denied.test', 'AAAA')).status).toBe('REFUSED');
    expect((await agentShell('printf %s "$PLAIN"')).stdout).toBe('hello');
  });

  it('SIGHUP with an invalid file keeps the previous policy and says why', async () => {
    lab.writeSettings({ ...SETTINGS, network: [{ action: 'maybe', host: 'x' }] });
    try {
      const before = lab.daemonLogs().length;
      await lab.reloadDaemon();
      const line = lab.daemonLogs().slice(before).find((l) => l.event === 'reload-failed');
      expect(String(line?.err)).toMatch(/network\[0\]\.action/);
      expect((await lab.agentCurl([...CURL, 'https://api.allowed.test/'])).status).toBe(200);
    } finally {
      lab.writeSettings(SETTINGS);
    }
  });

  it('a restart keeps the same CA and the same WireGuard keys, and traffic flows again', async () => {
    const ca = lab.readPublic('ca.pem');
    const conf = readFileSync(join(lab.dirs.wg, 'client.conf'), 'utf8');
    const serverKey = readFileSync(join(lab.dirs.state, 'wg-server.key'), 'utf8');
    await lab.restartDaemon();
    expect(lab.readPublic('ca.pem')).toBe(ca);
    expect(readFileSync(join(lab.dirs.wg, 'client.conf'), 'utf8')).toBe(conf);
    expect(readFileSync(join(lab.dirs.state, 'wg-server.key'), 'utf8')).toBe(serverKey);
    for (const f of ['wg-server.key', 'wg-client.key', 'ca-key.pem']) {
      const { statSync } = await import('node:fs');
      expect(statSync(join(lab.dirs.state, f)).mode & 0o777).toBe(0o600);
    }
    // The agent's tunnel was never touched: it re-handshakes with the same server key.
    const r = await lab.agentCurl([...CURL, 'https://api.allowed.test/'], { timeoutSec: 15 });
    expect(r.status).toBe(200);
  });

  it('refuses connections through the tunnel to its own listeners (loop guard)', async () => {
    lab.clearUpstreamLog();
    for (const url of [`http://${LAB_IP.tunnel4}:3129/`, `http://[${LAB_IP.tunnel6}]:3129/`, `http://${LAB_IP.tunnel4}:5353/`]) {
      const r = await lab.agentCurl([url], { timeoutSec: 5 });
      expect(r.status === 0 || r.status === 403).toBe(true);
    }
    expect(lab.upstreamRequests()).toHaveLength(0);
  });

  it('after a SIGKILL the next start replaces the stale table and the tunnel works again', async () => {
    lab.clearUpstreamLog();
    expect(await lab.stopDaemon('SIGKILL')).toBe('SIGKILL');
    // The table outlives a killed daemon; wireguard-go does not (parent-death signal).
    expect((await lab.exec('proxy', 'nft', ['list', 'table', 'inet', lab.nftTable])).code).toBe(0);
    await lab.startDaemon();
    const tables = (await lab.exec('proxy', 'nft', ['list', 'tables'])).stdout;
    expect(tables.split('\n').filter((l) => l.includes(lab.nftTable))).toHaveLength(1);
    expect((await lab.agentCurl([...CURL, 'https://api.allowed.test/'], { timeoutSec: 15 })).status).toBe(200);
  });

  it('if wireguard-go dies the daemon stops with status 1 and removes its rules (fail closed)', async () => {
    const up = lab.daemonLogs().filter((l) => l.kind === 'wireguard-go' && typeof l.pid === 'number').pop();
    expect(up).toBeDefined();
    const before = lab.daemonLogs().length;
    process.kill(up!.pid as number, 'SIGKILL');
    await waitFor('the daemon to stop', () => lab.daemonLogs().slice(before).some((l) => l.event === 'stopped'), 10_000);
    expect((await lab.exec('proxy', 'nft', ['list', 'table', 'inet', lab.nftTable])).code).not.toBe(0);
    expect(await lab.stopDaemon()).toBe(1);
    await lab.startDaemon();
  });

  it('SIGTERM removes the nft table, the interface and the ready marker', async () => {
    expect((await lab.exec('proxy', 'nft', ['list', 'table', 'inet', lab.nftTable])).code).toBe(0);
    const code = await lab.stopDaemon('SIGTERM');
    expect(code).toBe(0);
    expect((await lab.exec('proxy', 'nft', ['list', 'table', 'inet', lab.nftTable])).code).not.toBe(0);
    expect((await lab.exec('proxy', 'ip', ['link', 'show', lab.iface.wgServer])).code).not.toBe(0);
    expect(existsSync(join(lab.dirs.public, 'ready'))).toBe(false);
    expect(existsSync(`/var/run/wireguard/${lab.iface.wgServer}.sock`)).toBe(false);
  });

  it('an invalid settings file stops the daemon with status 2, naming the file and JSON path', async () => {
    lab.writeSettings({ network: [{ action: 'allow', host: 'x', method: 'GET POST' }] });
    await expect(lab.startDaemon()).rejects.toThrow(/exited \(2\)/);
    expect(lab.daemonLogText()).toContain(`${lab.dirs.userSettings}: at network[0].method`);
    expect(existsSync(join(lab.dirs.public, 'ready'))).toBe(false);
  });

  it('with no settings file at all, everything is denied and the log says so', async () => {
    const { rmSync } = await import('node:fs');
    rmSync(lab.dirs.userSettings);
    await lab.startDaemon();
    expect(lab.daemonLogs().some((l) => l.event === 'start' && l.configured === false && /denied/.test(String(l.msg)))).toBe(true);
    const r = await lab.agentDig('api.allowed.test', 'A');
    expect(r.status).toBe('REFUSED');
  });
});
