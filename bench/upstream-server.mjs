// The upstream the benchmark talks to (runs in the h7b-up namespace): HTTPS with a 1 KiB answer,
// a bulk download (`/bulk?bytes=N`), an upload sink (`POST /sink`), and a DNS server answering
// every *.bench.test name with this host's address. Usage: node upstream-server.mjs <ip> <cert> <key>
import https from 'node:https';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import dnsPacket from 'dns-packet';
import { writeBytes } from './lib/write-bytes.mjs';

const [ip, certFile, keyFile] = process.argv.slice(2);
const SMALL = Buffer.alloc(1024, 'x');
const CHUNK = Buffer.alloc(256 * 1024, 'b');

const server = https.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (req, res) => {
  const url = new URL(req.url, 'https://x');
  if (req.method === 'POST' && url.pathname === '/sink') {
    let bytes = 0;
    req.on('data', (d) => (bytes += d.length));
    req.on('end', () => {
      const body = JSON.stringify({ bytes });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    return;
  }
  if (url.pathname === '/bulk') {
    const bytes = Number(url.searchParams.get('bytes') ?? 0);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes });
    writeBytes(res, bytes, CHUNK);
    return;
  }
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': SMALL.length });
  res.end(SMALL);
});
// Idle connections must stay open for the memory figure.
server.keepAliveTimeout = 600_000;
server.headersTimeout = 610_000;
server.requestTimeout = 0;

const dns = dgram.createSocket('udp4');
dns.on('message', (msg, rinfo) => {
  let q;
  try {
    q = dnsPacket.decode(msg);
  } catch {
    return;
  }
  const question = q.questions?.[0];
  if (!question) return;
  const name = question.name.toLowerCase();
  const ours = name === 'bench.test' || name.endsWith('.bench.test');
  const answers = ours && question.type === 'A' ? [{ type: 'A', name: question.name, ttl: 300, data: ip }] : [];
  const reply = dnsPacket.encode({
    type: 'response',
    id: q.id,
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (ours ? 0 : 3), // rcode 3 = NXDOMAIN
    questions: q.questions,
    answers,
  });
  dns.send(reply, rinfo.port, rinfo.address);
});
process.on('SIGTERM', () => process.exit(0));
await Promise.all([
  new Promise((resolve) => server.listen(443, ip, resolve)),
  new Promise((resolve) => dns.bind(53, ip, resolve)),
]);
process.stdout.write('ready\n');
