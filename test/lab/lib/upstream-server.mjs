// The lab's upstream side, run by the harness inside the upstream namespace:
//   ip netns exec <ns> node upstream-server.mjs   (config as JSON in env LAB_UPSTREAM_CONFIG)
// It serves HTTPS (HTTP/2 and HTTP/1.1 on one port), plain HTTP, WebSocket echo on /ws, raw TCP
// (a client-first echo and a server-first banner) and DNS over UDP+TCP, and reports EVERYTHING it
// sees as one JSON line per event on stdout, so tests can assert what reached the upstream.
// It exits when stdin closes, i.e. when the test process that spawned it goes away.
//
// HTTP routes (any host, any method):
//   /echo            200 JSON {method, path, headers, body} of the request as received
//   /status/<n>      empty response with status n
//   /bytes/<n>       n bytes of 'x', streamed
//   /ws              WebSocket echo (HTTP/1.1 upgrade)
//   anything else    200 text "hello from <host> over <scheme>\n"
import { createServer as createHttpServer } from 'node:http';
import { createSecureServer } from 'node:http2';
import { createServer as createTcpServer } from 'node:net';
import { createSocket } from 'node:dgram';
import dnsPacket from 'dns-packet';
import { WebSocketServer } from 'ws';

const config = JSON.parse(process.env.LAB_UPSTREAM_CONFIG ?? '{}');
const BODY_LOG_CAP = 1 << 20;

function emit(event) {
  process.stdout.write(JSON.stringify({ ...event, at: Date.now() }) + '\n');
}

let pending = 1;
function done() {
  if (--pending === 0) emit({ kind: 'ready', pid: process.pid });
}
/** Count a server until it is listening, so 'ready' means every port is bound. */
function track(server) {
  pending++;
  server.once('listening', done);
  return server;
}

function fail(what, err) {
  emit({ kind: 'error', what, message: String(err?.message ?? err) });
}

// ---------- HTTP ----------
function handle(scheme) {
  return (req, res) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size <= BODY_LOG_CAP) chunks.push(c);
    });
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const host = (req.headers[':authority'] ?? req.headers.host ?? '').replace(/:\d+$/, '');
      const url = req.url ?? '/';
      emit({
        kind: 'http',
        scheme,
        httpVersion: req.httpVersion,
        sni: req.socket?.servername ?? null,
        host,
        method: req.method,
        path: url,
        headers: req.headers,
        body,
        bodySize: size,
        remote: req.socket?.remoteAddress ?? null,
      });
      const status = /^\/status\/(\d{3})/.exec(url);
      const bytes = /^\/bytes\/(\d+)/.exec(url);
      if (url.startsWith('/echo')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ method: req.method, path: url, headers: req.headers, body }));
      } else if (status) {
        res.writeHead(Number(status[1]));
        res.end();
      } else if (bytes) {
        let left = Number(bytes[1]);
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(left) });
        const block = Buffer.alloc(64 * 1024, 'x');
        const pump = () => {
          while (left > 0) {
            const n = Math.min(left, block.length);
            left -= n;
            if (!res.write(n === block.length ? block : block.subarray(0, n))) return void res.once('drain', pump);
          }
          res.end();
        };
        pump();
      } else {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(`hello from ${host} over ${scheme}\n`);
      }
    });
  };
}

const wss = new WebSocketServer({ noServer: true });
function upgrade(scheme) {
  return (req, socket, head) => {
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    emit({ kind: 'ws-upgrade', scheme, sni: socket.servername ?? null, host, path: req.url, headers: req.headers });
    if (!req.url?.startsWith('/ws')) return socket.destroy();
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('message', (data, isBinary) => {
        emit({ kind: 'ws-message', host, data: data.toString('utf8') });
        ws.send(data, { binary: isBinary });
      });
    });
  };
}

for (const port of config.httpsPorts ?? []) {
  const server = createSecureServer({ cert: config.certPem, key: config.keyPem, allowHTTP1: true }, handle('https'));
  server.on('upgrade', upgrade('https'));
  server.on('tlsClientError', (err, socket) => emit({ kind: 'tls-error', port, message: err.message, remote: socket.remoteAddress ?? null }));
  server.on('error', (e) => fail(`https:${port}`, e));
  track(server).listen({ port, host: '::' });
}
for (const port of config.httpPorts ?? []) {
  const server = createHttpServer(handle('http'));
  server.on('upgrade', upgrade('http'));
  server.on('error', (e) => fail(`http:${port}`, e));
  track(server).listen({ port, host: '::' });
}

// ---------- raw TCP ----------
/** A raw TCP echo server on `port` (reporting accepts and data); `banner`, if given, is sent first. */
function listenTcpEcho(port, what, banner) {
  pending++;
  createTcpServer((sock) => {
    emit({ kind: 'tcp-accept', port, remote: sock.remoteAddress });
    if (banner !== undefined) sock.write(banner);
    sock.on('data', (d) => emit({ kind: 'tcp-data', port, data: d.toString('utf8') }));
    sock.on('error', () => {});
    sock.pipe(sock);
  })
    .on('error', (e) => fail(`${what}:${port}`, e))
    .on('listening', done)
    .listen({ port, host: '::' });
}
for (const port of config.tcpEchoPorts ?? []) listenTcpEcho(port, 'tcp');
for (const port of config.tcpBannerPorts ?? []) listenTcpEcho(port, 'banner', 'SSH-2.0-sandcat-lab\r\n');

// ---------- DNS ----------
const records = config.dns?.records ?? {};
const ttl = config.dns?.ttl ?? 60;
function answer(buf, proto, remote) {
  let q;
  try {
    q = dnsPacket.decode(buf);
  } catch (e) {
    emit({ kind: 'dns-malformed', proto, remote });
    return null;
  }
  const question = q.questions?.[0];
  const name = (question?.name ?? '').toLowerCase().replace(/\.$/, '');
  emit({ kind: 'dns', name, type: question?.type ?? null, proto, remote });
  const rec = records[name];
  const answers = [];
  if (rec && question?.type === 'A') for (const ip of rec.A ?? []) answers.push({ type: 'A', name: question.name, ttl, data: ip });
  if (rec && question?.type === 'AAAA') for (const ip of rec.AAAA ?? []) answers.push({ type: 'AAAA', name: question.name, ttl, data: ip });
  return dnsPacket.encode({
    id: q.id,
    type: 'response',
    // dns-packet takes the rcode in the low 4 flag bits: 0 NOERROR, 3 NXDOMAIN.
    flags: dnsPacket.AUTHORITATIVE_ANSWER | (q.flags & dnsPacket.RECURSION_DESIRED) | dnsPacket.RECURSION_AVAILABLE | (rec ? 0 : 3),
    questions: q.questions,
    answers,
  });
}
if (config.dns) {
  const port = config.dns.port ?? 53;
  const udp = createSocket({ type: 'udp6', ipv6Only: false });
  udp.on('message', (msg, rinfo) => {
    const out = answer(msg, 'udp', rinfo.address);
    if (out) udp.send(out, rinfo.port, rinfo.address);
  });
  udp.on('error', (e) => fail('dns-udp', e));
  pending++;
  udp.once('listening', done);
  udp.bind(port, '::');
  pending++;
  createTcpServer((sock) => {
    let buf = Buffer.alloc(0);
    sock.on('error', () => {});
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const len = buf.readUInt16BE(0);
        const out = answer(buf.subarray(2, 2 + len), 'tcp', sock.remoteAddress);
        buf = buf.subarray(2 + len);
        if (out) {
          const prefix = Buffer.alloc(2);
          prefix.writeUInt16BE(out.length);
          sock.write(Buffer.concat([prefix, out]));
        }
      }
    });
  })
    .on('error', (e) => fail('dns-tcp', e))
    .on('listening', done)
    .listen({ port, host: '::' });
}

setImmediate(done);
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
