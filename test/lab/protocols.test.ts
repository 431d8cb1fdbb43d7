/**
 * Issue 4 through the real WireGuard lab: every protocol an agent speaks, with real clients run in
 * the agent namespace (curl, node, python3, Java 17, git, npm), against upstreams in the upstream
 * namespace. The proxy's own loopback tests (test/integration/proxy-*.test.ts) cover the same
 * behaviours in more detail; these prove them through the tunnel, nft capture and the daemon.
 *
 * SANDCAT_LAB_BIG_BYTES sets the size of the big-body download and upload. The default, 256 MiB,
 * already exceeds the 200 MB RSS bound (so whole-body buffering would fail the test) while keeping
 * CI time reasonable: through wireguard-go on a small shared machine the lab moves ~20 MiB/s down
 * and ~10 MiB/s up (1 GiB each way takes ~150 s there). Run with SANDCAT_LAB_BIG_BYTES=1073741824
 * for the 1 GB figure.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, createServedGitRepo, LAB_IP, LAB_NAMES, labSkipReason, REPO_ROOT, type Lab } from './lib/index.js';
import { onJsonLines, stopChild, waitFor } from './lib/exec.js';

const skip = labSkipReason();
if (skip) console.warn(`skipping the protocols lab test: ${skip}`);

const PORT = 9443;
const BIG = Number(process.env.SANDCAT_LAB_BIG_BYTES ?? 256 * 1024 ** 2);
const EXTRA_NAMES = ['ssh.allowed.test', 'pinned.allowed.test', 'git.allowed.test', 'npm.allowed.test', 'sse.allowed.test'];

const SETTINGS = {
  network: [
    // DNS ignores methods and takes the first rule for a name, so an allow comes first (the name
    // resolves); the DELETE deny then decides DELETE requests.
    { action: 'allow', host: 'api.allowed.test', method: 'GET' },
    { action: 'deny', host: 'api.allowed.test', method: 'DELETE' },
    { action: 'allow', host: 'api.allowed.test' },
    { action: 'allow', host: 'other.allowed.test' },
    { action: 'allow', host: 'git.allowed.test' },
    { action: 'allow', host: 'npm.allowed.test' },
    { action: 'allow', host: 'sse.allowed.test' },
    { action: 'allow', host: 'pinned.allowed.test', intercept: false },
    { action: 'allow', host: 'ssh.allowed.test', port: 2222 },
  ],
};

interface Event {
  kind: string;
  [k: string]: unknown;
}

describe.skipIf(skip)('every protocol through the lab (issue 4)', () => {
  let lab: Lab;
  let work: string;
  let server: ChildProcess | null = null;
  const events: Event[] = [];
  const ca = () => join(lab.dirs.public, 'ca.pem');

  /** A command in the agent namespace, as an agent would run it. */
  const agent = (cmd: string, args: string[], env: Record<string, string> = {}, timeoutMs = 60_000) =>
    lab.exec('agent', cmd, args, { env: { ...process.env, HOME: join(work, 'home'), ...env }, timeoutMs });
  const sh = (script: string, env: Record<string, string> = {}, timeoutMs = 60_000) => agent('bash', ['-c', script], env, timeoutMs);
  const nodeIn = (code: string, env: Record<string, string> = {}) => agent(process.execPath, ['-e', code], { NODE_EXTRA_CA_CERTS: ca(), NODE_PATH: join(REPO_ROOT, 'node_modules'), ...env });

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'h3-protocols-lab-'));
    mkdirSync(join(work, 'home'));
    const gitRoot = createServedGitRepo(work);

    lab = await createLab({ tag: 'h3p', settings: SETTINGS, names: [...LAB_NAMES, ...EXTRA_NAMES] });
    const config = { port: PORT, certPem: lab.pki.certPem, keyPem: lab.pki.keyPem, gitRoot, sseDelayMs: 1500 };
    server = lab.spawnUpstream(join(import.meta.dirname, 'protocols-upstream.mjs'), [], { ...process.env, PROTOCOLS_UPSTREAM_CONFIG: JSON.stringify(config) });
    onJsonLines<Event>(server.stdout, (e) => events.push(e));
    await waitFor('the protocols upstream', () => events.some((e) => e.kind === 'ready'), 10_000);
  }, 180_000);

  afterAll(async () => {
    if (server) await stopChild(server, 'SIGTERM', 2000);
    await lab?.destroy();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  // First: raw TCP is decided on every name the agent resolved to the IP, and later tests resolve
  // api.allowed.test (which has a DELETE-only deny: an opaque pipe could carry a DELETE) to the
  // same lab upstream, which then denies raw TCP to it by design.
  describe('raw TCP', () => {
    it('a server-first banner protocol is relayed when its DNS name and port are allowed', async () => {
      const r = await sh('exec 3<>/dev/tcp/ssh.allowed.test/2222 && head -c 21 <&3 && printf ping >&3 && head -c 4 <&3');
      expect(r.code).toBe(0);
      expect(r.stdout).toBe('SSH-2.0-sandcat-lab\r\nping');
    });

    it('raw TCP to an IP nobody resolved is reset, and the log says why', async () => {
      const r = await nodeIn(`
        const s = require('net').connect(7777, '${LAB_IP.upstream4}');
        s.on('connect', () => s.write('hello'));
        s.on('error', (e) => { console.log(e.code); process.exit(0); });
        s.on('close', () => { console.log('CLOSED'); process.exit(0); });
        s.on('data', (d) => { console.log('DATA ' + d); process.exit(0); });`);
      expect(r.stdout.trim()).toBe('ECONNRESET');
      const line = await lab.waitForLog((l) => l.proto === 'tcp' && l.decision === 'deny' && l.dest === LAB_IP.upstream4);
      expect(line.reason).toBe('no-rule-matched');
      expect(lab.upstreamEvents().some((e) => e.kind === 'tcp-accept' && e.port === 7777)).toBe(false);
    });
  });


  describe('HTTP/2', () => {
    it('curl --http2 gets h2 from the proxy, which speaks h2 upstream', async () => {
      const r = await lab.agentCurl(['--http2', '-o', '/dev/null', '-w', '%{http_version}', 'https://api.allowed.test/echo']);
      expect(r.code).toBe(0);
      expect(r.body).toBe('2');
      const up = lab.upstreamRequests({ host: 'api.allowed.test', path: '/echo' }).at(-1)!;
      expect(up.httpVersion).toBe('2.0');
    });

    it('node http2.connect: multiplexed streams on one connection are decided independently', async () => {
      const r = await nodeIn(`
        const http2 = require('http2');
        const s = http2.connect('https://api.allowed.test');
        const get = (authority, path, method = 'GET') => new Promise((res, rej) => {
          const st = s.request({ ':authority': authority, ':path': path, ':method': method });
          let status = 0, body = '';
          st.on('response', (h) => (status = h[':status'])); st.on('data', (d) => (body += d));
          st.on('end', () => res({ status, body: body.slice(0, 60) })); st.on('error', rej); st.end();
        });
        Promise.all([get('api.allowed.test', '/a'), get('other.allowed.test', '/b'), get('api.allowed.test', '/c', 'DELETE'), get('denied.test', '/d')])
          .then((r) => { console.log(JSON.stringify(r)); s.close(); }, (e) => { console.log('ERR', e.message); process.exit(1); });`);
      expect(r.code).toBe(0);
      const [a, b, c, d] = JSON.parse(r.stdout) as { status: number; body: string }[];
      expect(a!.status).toBe(200);
      expect(b!.status).toBe(200);
      expect(c!.status).toBe(403);
      expect(d!.status).toBe(403);
      expect(d!.body).toContain('Blocked by sandcat network policy: GET denied.test');
    });

    it('openssl s_client negotiates h2 with the sandcat CA', async () => {
      const r = await sh(`echo | openssl s_client -connect api.allowed.test:443 -servername api.allowed.test -alpn h2 -CAfile ${ca()} 2>&1`);
      expect(r.stdout).toContain('ALPN protocol: h2');
      expect(r.stdout).toContain('Verify return code: 0 (ok)');
    });
  });

  describe('WebSocket and streaming', () => {
    it('a node ws client exchanges messages with the upstream echo server', async () => {
      const r = await nodeIn(`
        const WebSocket = require('ws');
        const ws = new WebSocket('wss://api.allowed.test/ws');
        ws.on('open', () => ws.send('hello through sandcat'));
        ws.on('message', (m) => { console.log('got:' + m); ws.close(); });
        ws.on('error', (e) => { console.log('ERR', e.message); process.exit(1); });`);
      expect(r.stdout.trim()).toBe('got:hello through sandcat');
      expect(lab.upstreamEvents().some((e) => e.kind === 'ws-message' && e.data === 'hello through sandcat')).toBe(true);
    });

    it('server-sent events arrive one by one: the first before the upstream sends the last', async () => {
      const r = await nodeIn(`
        const t0 = Date.now(); const times = [];
        fetch('https://sse.allowed.test:${PORT}/sse').then(async (res) => {
          const reader = res.body.getReader(); const dec = new TextDecoder(); let text = '';
          for (;;) { const { done, value } = await reader.read(); if (done) break; text += dec.decode(value); times.push([Date.now() - t0, text.length]); }
          console.log(JSON.stringify({ status: res.status, type: res.headers.get('content-type'), text, times }));
        }, (e) => { console.log('ERR', e.message); process.exit(1); });`);
      const out = JSON.parse(r.stdout) as { status: number; type: string; text: string; times: [number, number][] };
      expect(out.status).toBe(200);
      expect(out.type).toBe('text/event-stream');
      expect(out.text).toBe('data: first\n\ndata: last\n\n');
      // The first chunk (the first event) came well before the last, which the upstream held back 1.5 s.
      expect(out.times.length).toBeGreaterThanOrEqual(2);
      expect(out.times.at(-1)![0] - out.times[0]![0]).toBeGreaterThan(1000);
      expect(out.times[0]![1]).toBe('data: first\n\n'.length);
    });
  });

  describe('TLS edge cases', () => {
    it('TLS to an IP literal (no SNI) is denied unless a rule names the IP', async () => {
      const r = await lab.agentCurl(['-k', `https://${LAB_IP.upstream4}/`]);
      expect(r.status).toBe(403);
      expect(r.body).toContain(LAB_IP.upstream4);
      expect(r.body).toContain('no rule names this IP address');
    });

    it('intercept:false relays TLS untouched: the agent sees the upstream certificate', async () => {
      const pinned = await agent('curl', ['-sS', '--cacert', lab.dirs.upstreamCa, '-m', '10', 'https://pinned.allowed.test/']);
      expect(pinned.stdout, pinned.stderr).toBe('hello from pinned.allowed.test over https\n');
      // With only the sandcat CA trusted, the handshake fails: no certificate was substituted.
      const withSandcatCa = await lab.agentCurl(['https://pinned.allowed.test/']);
      expect(withSandcatCa.code).toBe(60);
    });
  });

  describe('IPv6 and UDP', () => {
    it('curl -6 to an allowed host works through the v6 tunnel; a denied one is blocked the same way', async () => {
      const aaaa = await lab.agentDig('api.allowed.test', 'AAAA');
      expect(aaaa.answers).toContain(LAB_IP.upstream6);
      const r = await lab.agentCurl(['-6', 'https://api.allowed.test/v6']);
      expect(r.status).toBe(200);
      const line = await lab.waitForLog((l) => l.msg === 'request' && l.path === '/v6');
      expect(line.client).toBe(LAB_IP.client6);
      const denied = await lab.agentCurl(['-6', '--resolve', `denied.test:443:[${LAB_IP.upstream6}]`, 'https://denied.test/']);
      expect(denied.status).toBe(403);
    });

    it('UDP 443 (QUIC) is refused at once, so HTTP/3 clients fall back to TCP without a timeout', async () => {
      const r = await agent('python3', [
        '-c',
        `import socket,time
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(5); s.connect(('api.allowed.test',443))
t=time.monotonic(); s.send(b'\\xc0quic-initial')
try:
    s.recv(100); print('ANSWER')
except ConnectionRefusedError: print('REFUSED %.0f' % ((time.monotonic()-t)*1000))
except socket.timeout: print('TIMEOUT')`,
      ]);
      const m = /^REFUSED (\d+)/.exec(r.stdout.trim());
      expect(m, r.stdout + r.stderr).not.toBeNull();
      expect(Number(m![1])).toBeLessThan(500);
    });
  });

  describe('real clients', () => {
    it('node fetch (undici) with NODE_EXTRA_CA_CERTS', async () => {
      const r = await nodeIn(`fetch('https://api.allowed.test/echo').then((r) => r.json()).then((j) => console.log(j.method + ' ' + j.path), (e) => { console.log('ERR', e.cause?.code ?? e.message); process.exit(1); })`);
      expect(r.stdout.trim()).toBe('GET /echo');
    });

    it('python3 urllib with SSL_CERT_FILE', async () => {
      const r = await agent('python3', ['-c', "import urllib.request; print(urllib.request.urlopen('https://api.allowed.test/py').read().decode(), end='')"], { SSL_CERT_FILE: ca() });
      expect(r.stdout, r.stderr).toBe('hello from api.allowed.test over https\n');
    });

    it('Java 17 HttpClient with a truststore holding the sandcat CA', async () => {
      const store = join(work, 'truststore.p12');
      execFileSync('keytool', ['-importcert', '-noprompt', '-alias', 'sandcat', '-file', ca(), '-keystore', store, '-storetype', 'PKCS12', '-storepass', 'changeit'], { stdio: 'pipe' });
      const src = join(work, 'Fetch.java');
      writeFileSync(
        src,
        `import java.net.URI; import java.net.http.*;
public class Fetch { public static void main(String[] a) throws Exception {
  HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(a[0])).build(), HttpResponse.BodyHandlers.ofString());
  System.out.print(r.version() + " " + r.statusCode() + " " + r.body()); } }`,
      );
      const r = await agent('java', [`-Djavax.net.ssl.trustStore=${store}`, '-Djavax.net.ssl.trustStorePassword=changeit', '-Djavax.net.ssl.trustStoreType=PKCS12', src, 'https://api.allowed.test/java'], {}, 90_000);
      expect(r.stdout, r.stderr).toBe('HTTP_2 200 hello from api.allowed.test over https\n');
    }, 120_000);

    it('git clone and push over smart HTTP', async () => {
      const dir = join(work, 'clone');
      const env = { GIT_SSL_CAINFO: ca(), GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1' };
      const clone = await agent('git', ['clone', '-q', `https://git.allowed.test:${PORT}/repo.git`, dir], env);
      expect(clone.code, clone.stderr).toBe(0);
      expect(readFileSync(join(dir, 'README.md'), 'utf8')).toBe('cloned through sandcat\n');
      writeFileSync(join(dir, 'pushed.txt'), 'pushed through sandcat\n');
      const push = await sh(`cd ${dir} && git add pushed.txt && git -c user.name=agent -c user.email=agent@lab commit -qm push && git push -q origin HEAD:main`, env);
      expect(push.code, push.stderr).toBe(0);
      const log = execFileSync('git', ['--git-dir', join(work, 'served', 'repo.git'), 'log', '--format=%s', 'main'], { encoding: 'utf8' });
      expect(log.split('\n')[0]).toBe('push');
      expect(events.some((e) => e.kind === 'request' && String(e.path).includes('git-receive-pack') && e.method === 'POST')).toBe(true);
    }, 90_000);

    it('npm install of a package from a small registry', async () => {
      const dir = join(work, 'npm-project');
      mkdirSync(dir);
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'agent-project', version: '1.0.0', private: true }));
      writeFileSync(join(work, 'npmrc'), '');
      const r = await agent(
        'npm',
        ['install', 'tiny-pkg', '--registry', `https://npm.allowed.test:${PORT}/npm/`, '--no-audit', '--no-fund', '--no-update-notifier', '--prefix', dir],
        { npm_config_cafile: ca(), npm_config_userconfig: join(work, 'npmrc'), npm_config_cache: join(work, 'npm-cache') },
        90_000,
      );
      expect(r.code, r.stderr).toBe(0);
      expect(readFileSync(join(dir, 'node_modules', 'tiny-pkg', 'index.js'), 'utf8')).toContain('tiny-pkg works');
    }, 120_000);
  });

  describe('big bodies with flat memory', () => {
    const daemonMemory = () => {
      const pid = execFileSync('pgrep', ['-f', `sandcat daemon .*--wg-interface ${lab.iface.wgServer}`], { encoding: 'utf8' }).trim().split('\n')[0]!;
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)![1]);
      return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
    };

    it(`downloads and uploads ${BIG} bytes while the daemon stays under 200 MB RSS`, async () => {
      const down = await lab.agentCurl(['-o', '/dev/null', '-w', '%{size_download} %{speed_download}', `https://api.allowed.test/bytes/${BIG}`], { timeoutSec: 300 });
      const [size, speed] = down.body.split(' ').map(Number);
      expect(size).toBe(BIG);
      const up = await sh(`head -c ${BIG} /dev/zero | curl -sS --cacert ${ca()} -m 300 -T - -w ' %{speed_upload}' https://api.allowed.test:${PORT}/upload`, {}, 320_000);
      expect(up.stdout, up.stderr).toMatch(new RegExp(`^\\{"bytes":${BIG}\\} `));
      const mem = daemonMemory();
      console.log(`big bodies: ${BIG} bytes, down ${(speed! / 2 ** 20).toFixed(0)} MiB/s, up ${(Number(up.stdout.split(' ').pop()) / 2 ** 20).toFixed(0)} MiB/s, daemon RSS ${mem.rssMb.toFixed(0)} MB (peak ${mem.peakMb.toFixed(0)} MB)`);
      expect(mem.peakMb).toBeLessThan(200);
    }, 700_000);
  });
});
