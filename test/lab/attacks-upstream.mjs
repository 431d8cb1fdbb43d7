// An upstream that reflects what it received (the real secret value) through every response channel.
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import dgram from 'node:dgram';
import zlib from 'node:zlib';
import { readFileSync } from 'node:fs';
import { WebSocketServer } from 'ws';
import dnsPacket from 'dns-packet';

const cfg = JSON.parse(process.env.EVIL_CONFIG);
const emit = (e) => process.stdout.write(JSON.stringify({ ...e, at: Date.now() }) + '\n');
const secretOf = (req) => String(req.headers.authorization ?? '').replace(/^Bearer /, '');

function handler(req, res) {
  const v = secretOf(req);
  const url = req.url ?? '/';
  emit({ kind: 'evil-http', url, v, httpVersion: req.httpVersion, host: req.headers[':authority'] ?? req.headers.host });
  req.resume();
  req.on('end', () => {
    if (url.startsWith('/trailer')) {
      res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-echo, grpc-message' });
      res.write('body\n');
      res.addTrailers({ 'x-echo': v, 'grpc-message': `invalid token ${v}` });
      res.end();
    } else if (url.startsWith('/reason')) {
      res.statusMessage = `OK ${v}`;
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('body\n');
    } else if (url.startsWith('/location')) {
      res.writeHead(302, { location: `https://other.allowed.test/?t=${v}`, 'set-cookie': `t=${v}`, 'www-authenticate': `Bearer error="${v}"` });
      res.end();
    } else if (url.startsWith('/gzip-split')) {
      const gz = zlib.gzipSync(Buffer.from(`value=${v};`.repeat(3)));
      res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' });
      let i = 0;
      const step = () => { if (i >= gz.length) return res.end(); res.write(gz.subarray(i, i + 3)); i += 3; setTimeout(step, 1); };
      step();
    } else if (url.startsWith('/split')) {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const body = Buffer.from(`value=${v};`);
      let i = 0;
      const step = () => { if (i >= body.length) return res.end(); res.write(body.subarray(i, i + 1)); i += 1; setTimeout(step, 1); };
      step();
    } else if (url.startsWith('/br')) {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'br' });
      res.end(zlib.brotliCompressSync(Buffer.from(`value=${v}`)));
    } else if (url.startsWith('/deflate-raw')) {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'deflate' });
      res.end(zlib.deflateRawSync(Buffer.from(`value=${v}`)));
    } else if (url.startsWith('/multi-enc')) {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip, gzip' });
      res.end(zlib.gzipSync(zlib.gzipSync(Buffer.from(`value=${v}`))));
    } else if (url.startsWith('/range')) {
      // a 206 partial of the value: the proxy must not pass a compressed partial
      res.writeHead(206, { 'content-type': 'text/plain', 'content-range': 'bytes 0-99/200' });
      res.end(`value=${v}`);
    } else if (url.startsWith('/head-echo')) {
      res.writeHead(200, { 'x-echo': v, 'content-length': '5' });
      res.end(req.method === 'HEAD' ? undefined : 'body\n');
    } else if (url.startsWith('/early')) {
      res.writeEarlyHints({ link: `</x?t=${v}>; rel=preload` });
      res.writeHead(200);
      res.end('body\n');
    } else {
      res.writeHead(200, { 'content-type': 'application/json', 'x-echo': v });
      res.end(JSON.stringify({ v }));
    }
  });
}

const wss = new WebSocketServer({ noServer: true });
function upgrade(req, socket, head) {
  const v = secretOf(req);
  emit({ kind: 'evil-upgrade', v, url: req.url });
  wss.handleUpgrade(req, socket, head, (ws) => {
    ws.send(`hello ${v}`);
    ws.on('message', (d) => { emit({ kind: 'evil-ws-message', data: d.toString() }); ws.send(`echo ${d}`); });
  });
}

const tlsServer = http2.createSecureServer({ cert: cfg.certPem, key: cfg.keyPem, allowHTTP1: true, settings: { enableConnectProtocol: true } }, handler);
tlsServer.on('upgrade', upgrade);
// RFC 8441 WebSocket over h2
tlsServer.on('stream', (stream, headers) => {
  if (headers[':method'] === 'CONNECT' && headers[':protocol'] === 'websocket') {
    const v = String(headers.authorization ?? '').replace(/^Bearer /, '');
    emit({ kind: 'evil-h2-ws', v });
    stream.respond({ ':status': 200 });
    // an unmasked server text frame
    const payload = Buffer.from(`hello ${v}`);
    stream.write(Buffer.concat([Buffer.from([0x81, payload.length]), payload]));
  }
});
if (cfg.tlsPort) tlsServer.listen(cfg.tlsPort, '::', () => emit({ kind: 'ready', what: 'tls' }));
const plain = http.createServer(handler);
plain.on('upgrade', upgrade);
if (cfg.plainPort) plain.listen(cfg.plainPort, '::', () => emit({ kind: 'ready', what: 'plain' }));

// A DNS server with CNAME chains; forwards anything else to the lab's DNS on ::1:53.
if (cfg.dnsPort) {
  const zone = cfg.zone; // name -> {CNAME?: target, A?: [...], TXT?: [...]}
  const answer = (q) => {
    const question = q.questions[0];
    let name = question.name.toLowerCase().replace(/\.$/, '');
    emit({ kind: 'evil-dns', name, type: question.type });
    if (!zone[name] && !Object.keys(zone).some((z) => zone[z].CNAME === name)) return null;
    const answers = [];
    for (let hop = 0; hop < 8 && zone[name]; hop++) {
      const rec = zone[name];
      if (rec.CNAME) { answers.push({ type: 'CNAME', name, ttl: 60, data: rec.CNAME }); name = rec.CNAME; continue; }
      if (question.type === 'A') for (const a of rec.A ?? []) answers.push({ type: 'A', name, ttl: 60, data: a });
      if (question.type === 'AAAA') for (const a of rec.AAAA ?? []) answers.push({ type: 'AAAA', name, ttl: 60, data: a });
      if (question.type === 'TXT') for (const t of rec.TXT ?? []) answers.push({ type: 'TXT', name, ttl: 60, data: t });
      break;
    }
    return dnsPacket.encode({ id: q.id, type: 'response', flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE, questions: q.questions, answers });
  };
  const udp = dgram.createSocket({ type: 'udp6', ipv6Only: false });
  udp.on('message', (msg, r) => {
    let q; try { q = dnsPacket.decode(msg); } catch { return; }
    const out = answer(q);
    if (out) return udp.send(out, r.port, r.address);
    const fwd = dgram.createSocket('udp6');
    fwd.on('message', (m) => { udp.send(m, r.port, r.address); fwd.close(); });
    fwd.send(msg, 53, '::1');
  });
  udp.bind(cfg.dnsPort, '::', () => emit({ kind: 'ready', what: 'dns' }));
}
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
