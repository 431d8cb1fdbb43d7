/**
 * The demo (README's "main job" until the containers land): builds the lab — an agent namespace
 * whose only way out is a WireGuard tunnel into `sandcat daemon`, and an upstream namespace with
 * HTTPS/HTTP servers and a DNS server — then shows allowed, denied and substituted requests with
 * real curl and dig, and tears everything down. Run it with scripts/demo.sh (as root).
 */
import { join } from 'node:path';
import { createLab, labSkipReason, type Lab } from '../../test/lab/lib/index.js';
import { decisionLine } from './decision-line.js';

const SECRET_VALUE = 'demo-s3cret-0f-the-user';
const SETTINGS = {
  env: { GREETING: "hello from sandcat's env" },
  secrets: { API_TOKEN: { value: SECRET_VALUE, hosts: ['api.allowed.test'] } },
  network: [
    { action: 'allow', host: 'api.allowed.test', method: 'GET' },
    { action: 'deny', host: 'api.allowed.test', method: 'POST' },
    { action: 'allow', host: '*.allowed.test' },
  ],
};

const tty = process.stdout.isTTY;
const paint = (code: string) => (s: string) => (tty ? `\x1b[${code}m${s}\x1b[0m` : s);
const bold = paint('1');
const dim = paint('2');
const green = paint('32');
const red = paint('31');
const cyan = paint('36');
const yellow = paint('33');

function say(text = ''): void {
  process.stdout.write(text + '\n');
}

/** Multi-line response bodies stay inside the step's indentation. */
function indent(text: string): string {
  return text.trim().replace(/\n/g, '\n        ');
}

function verdict(ok: boolean, text: string): string {
  return ok ? green(`✔ ${text}`) : red(`✘ ${text}`);
}

async function step(title: string, body: () => Promise<boolean>): Promise<boolean> {
  say();
  say(bold(title));
  try {
    return await body();
  } catch (err) {
    say(red(`  failed: ${(err as Error).message}`));
    return false;
  }
}

async function demo(lab: Lab): Promise<boolean> {
  const env = join(lab.dirs.public, 'sandcat.env');
  const ca = join(lab.dirs.public, 'ca.pem');
  const agent = (script: string) => lab.exec('agent', 'bash', ['-c', `. ${env}\n${script}`]);
  const results: boolean[] = [];

  results.push(
    await step('1. An allowed request: GET https://api.allowed.test/', async () => {
      say(dim('   agent$ curl https://api.allowed.test/'));
      const r = await lab.agentCurl(['--http1.1', 'https://api.allowed.test/']);
      say(`   HTTP ${r.status}: ${indent(r.body)}`);
      say(`   ${verdict(r.status === 200, "allowed by rule user[0]; TLS intercepted with sandcat's CA, which the agent trusts")}`);
      return r.status === 200;
    }),
  );

  results.push(
    await step('2. A method rule: POST https://api.allowed.test/echo', async () => {
      say(dim("   agent$ curl -X POST --data 'hi' https://api.allowed.test/echo"));
      const r = await lab.agentCurl(['--http1.1', '-X', 'POST', '--data', 'hi', 'https://api.allowed.test/echo']);
      say(`   HTTP ${r.status}: ${indent(r.body)}`);
      const reached = lab.upstreamRequests({ method: 'POST' }).length;
      say(`   ${verdict(r.status === 403 && reached === 0, `denied by rule user[1]; requests that reached the upstream: ${reached}`)}`);
      return r.status === 403 && reached === 0;
    }),
  );

  results.push(
    await step('3. A name no rule allows: dig denied.test', async () => {
      say(dim('   agent$ dig denied.test'));
      const r = await lab.agentDig('denied.test');
      const queries = lab.dnsQueries('denied.test').length;
      say(`   status: ${r.status}`);
      say(`   ${verdict(r.status === 'REFUSED' && queries === 0, `REFUSED by the proxy's DNS; queries for it at the upstream DNS server: ${queries} (no DNS exfiltration)`)}`);
      return r.status === 'REFUSED' && queries === 0;
    }),
  );

  results.push(
    await step('4. A secret: the agent holds only a placeholder', async () => {
      const shown = await agent('printf %s "$API_TOKEN"');
      say(dim('   agent$ echo $API_TOKEN'));
      say(`   ${shown.stdout}`);
      lab.clearUpstreamLog();
      say(dim('   agent$ curl -H "Authorization: Bearer $API_TOKEN" https://api.allowed.test/echo'));
      const r = await agent(`curl --http1.1 -sS --cacert ${ca} -H "Authorization: Bearer $API_TOKEN" https://api.allowed.test/echo`);
      const seen = lab.upstreamRequests({ host: 'api.allowed.test' })[0];
      const got = String(seen?.headers.authorization ?? '(nothing)');
      say(`   the upstream received:  Authorization: ${got}`);
      const echoed = (JSON.parse(r.stdout || '{}') as { headers?: Record<string, string> }).headers?.authorization ?? '';
      say(`   the agent saw it echo:  Authorization: ${echoed}`);
      const ok = got === `Bearer ${SECRET_VALUE}` && !r.stdout.includes(SECRET_VALUE) && shown.stdout.startsWith('SANDCAT_PLACEHOLDER_');
      say(`   ${verdict(ok, 'substituted toward its allowed host; the echoed value was turned back into the placeholder')}`);
      return ok;
    }),
  );

  results.push(
    await step('5. The same placeholder sent to another (allowed) host', async () => {
      lab.clearUpstreamLog();
      say(dim('   agent$ curl -H "Authorization: Bearer $API_TOKEN" https://other.allowed.test/'));
      const r = await agent(`curl --http1.1 -sS --cacert ${ca} -w '\\n%{http_code}' -H "Authorization: Bearer $API_TOKEN" https://other.allowed.test/`);
      const lines = r.stdout.trim().split('\n');
      const status = lines.pop();
      say(`   HTTP ${status}: ${lines.join(' ').trim()}`);
      const reached = lab.upstreamRequests({ host: 'other.allowed.test' }).length;
      say(`   ${verdict(status === '403' && reached === 0, `blocked before anything left the proxy; requests that reached other.allowed.test: ${reached}`)}`);
      return status === '403' && reached === 0;
    }),
  );

  results.push(
    await step('6. Plain HTTP, and HTTPS to a bare IP no rule names', async () => {
      const plain = await lab.agentCurl(['http://plain.allowed.test/']);
      say(`   agent$ curl http://plain.allowed.test/      → HTTP ${plain.status}: ${plain.body.trim()}`);
      const ip = await lab.agentCurl(['--http1.1', '-k', `https://${lab.ip.upstream4}/`]);
      say(`   agent$ curl -k https://${lab.ip.upstream4}/        → ${ip.status ? `HTTP ${ip.status}: ${indent(ip.body)}` : `no response (${ip.stderr.trim()})`}`);
      const ok = plain.status === 200 && ip.status !== 200;
      say(`   ${verdict(ok, 'plain HTTP goes through the same rules; an IP literal is denied unless a rule names it')}`);
      return ok;
    }),
  );

  results.push(
    await step('7. UDP other than DNS (QUIC) is refused at once', async () => {
      const r = await lab.exec('agent', 'bash', ['-c', `exec 3<>/dev/udp/${lab.ip.upstream4}/443; echo quic >&3; sleep 0.3; echo again >&3`]);
      say(`   agent$ send UDP to ${lab.ip.upstream4}:443 → ${r.stderr.trim().replace(/^.*: /, '') || 'no error'}`);
      const ok = /refused/i.test(r.stderr);
      say(`   ${verdict(ok, 'ICMP port-unreachable, so HTTP/3 clients fall back to TCP without waiting')}`);
      return ok;
    }),
  );

  say();
  say(bold("The daemon's decision log (one JSON line per lookup and request; no secret values):"));
  for (const l of lab.daemonLogs().filter((x) => x.msg === 'request' || (x.msg === 'dns lookup' && x.decision === 'deny'))) {
    say(`   ${decisionLine(l, { green, red, yellow, cyan })}`);
  }
  return results.every(Boolean);
}

async function main(): Promise<number> {
  const skip = labSkipReason();
  if (skip) {
    process.stderr.write(`demo: ${skip}\n`);
    return 2;
  }
  say(bold('sandcat demo'));
  say(dim('Building the lab: agent ⇄ WireGuard ⇄ sandcat daemon ⇄ upstream (HTTPS, HTTP, DNS) in three network namespaces…'));
  say(dim('Settings (the user layer):'));
  for (const line of JSON.stringify(SETTINGS, null, 2).split('\n')) say(dim(`   ${line}`));
  // The daemon names a rule by its layer and its index in that file's "network" list, from 0.
  say(dim(`   rules as the log names them: ${SETTINGS.network.map((n, i) => `user[${i}] ${n.action} ${n.host}${n.method ? ` ${n.method}` : ''}`).join(' · ')}`));
  let lab: Lab | undefined;
  const stop = async (): Promise<void> => {
    await lab?.destroy();
  };
  process.once('SIGINT', () => void stop().then(() => process.exit(130)));
  process.once('SIGTERM', () => void stop().then(() => process.exit(143)));
  try {
    lab = await createLab({ tag: 'demo', settings: SETTINGS });
    const ok = await demo(lab);
    say();
    say(ok ? green(bold('All demo steps behaved as expected.')) : red(bold('Some demo steps did not behave as expected (see above).')));
    return ok ? 0 : 1;
  } finally {
    say(dim('Tearing down the lab (daemon stopped with SIGTERM: interface and nft table removed)…'));
    await stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`demo failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
