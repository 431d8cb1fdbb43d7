// Extra upstream for test/lab/protocols.test.ts, run in the lab's upstream namespace:
//   node protocols-upstream.mjs   (config as JSON in env PROTOCOLS_UPSTREAM_CONFIG)
// One HTTPS port (HTTP/2 and HTTP/1.1 by ALPN) with the routes real clients need. Reports events
// as JSON lines on stdout; exits when stdin closes.
//
//   /sse             text/event-stream: "first", then `sseDelayMs` later "last"
//   /upload          counts the request body, answers {"bytes": n}
//   /repo.git/…      git smart HTTP (clone and push) through `git http-backend`
//   /npm/…           a one-package npm registry: /npm/tiny-pkg (packument) and its tarball
import { createHash } from 'node:crypto';
import { createSecureServer } from 'node:http2';
import { gzipSync } from 'node:zlib';
import { serveGitHttpBackend } from './lib/git-http-backend.mjs';

const config = JSON.parse(process.env.PROTOCOLS_UPSTREAM_CONFIG ?? '{}');
const emit = (event) => process.stdout.write(JSON.stringify({ ...event, at: Date.now() }) + '\n');

/** A ustar archive with the given files under package/, gzipped: what npm publishes. */
function tarball(files) {
  const blocks = [];
  for (const [name, text] of Object.entries(files)) {
    const data = Buffer.from(text);
    const header = Buffer.alloc(512);
    header.write(`package/${name}`, 0, 'utf8');
    header.write('0000644\0', 100);
    header.write('0000000\0', 108);
    header.write('0000000\0', 116);
    header.write(data.length.toString(8).padStart(11, '0') + '\0', 124);
    header.write(Math.floor(Date.now() / 1000).toString(8).padStart(11, '0') + '\0', 136);
    header.write('        ', 148);
    header.write('0', 156);
    header.write('ustar\0', 257);
    header.write('00', 263);
    let sum = 0;
    for (const b of header) sum += b;
    header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
    blocks.push(header, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

const tgz = tarball({
  'package.json': JSON.stringify({ name: 'tiny-pkg', version: '1.0.0', main: 'index.js' }),
  'index.js': "module.exports = 'tiny-pkg works';\n",
});
const shasum = createHash('sha1').update(tgz).digest('hex');
const integrity = 'sha512-' + createHash('sha512').update(tgz).digest('base64');

const server = createSecureServer({ cert: config.certPem, key: config.keyPem, allowHTTP1: true }, (req, res) => {
  const url = new URL(req.url ?? '/', 'https://lab');
  const host = String(req.headers[':authority'] ?? req.headers.host ?? '').replace(/:\d+$/, '');
  if (url.pathname === '/sse') {
    emit({ kind: 'sse-start', host, httpVersion: req.httpVersion });
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write('data: first\n\n');
    setTimeout(() => {
      emit({ kind: 'sse-last' });
      res.end('data: last\n\n');
    }, config.sseDelayMs ?? 1500);
    return;
  }
  if (url.pathname === '/upload') {
    let bytes = 0;
    req.on('data', (c) => (bytes += c.length));
    req.on('end', () => {
      emit({ kind: 'upload', host, bytes, httpVersion: req.httpVersion, expect: req.headers.expect ?? null });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ bytes }));
    });
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    emit({ kind: 'request', host, method: req.method, path: req.url, httpVersion: req.httpVersion, bodySize: body.length, userAgent: req.headers['user-agent'] ?? null });
    if (url.pathname.startsWith('/repo.git/')) {
      const env = { HTTP_CONTENT_ENCODING: req.headers['content-encoding'] ?? '' };
      return serveGitHttpBackend(req, res, url, body, { projectRoot: config.gitRoot, env, lowerCaseHeaders: true, emit });
    }
    if (url.pathname === '/npm/tiny-pkg') {
      const base = `https://${host}:${config.port}/npm`;
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(
        JSON.stringify({
          name: 'tiny-pkg',
          'dist-tags': { latest: '1.0.0' },
          versions: { '1.0.0': { name: 'tiny-pkg', version: '1.0.0', main: 'index.js', dist: { tarball: `${base}/tiny-pkg/-/tiny-pkg-1.0.0.tgz`, shasum, integrity } } },
        }),
      );
    }
    if (url.pathname === '/npm/tiny-pkg/-/tiny-pkg-1.0.0.tgz') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': tgz.length });
      return res.end(tgz);
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`protocols upstream: ${req.method} ${url.pathname} from ${host} over HTTP/${req.httpVersion}\n`);
  });
});
server.on('error', (e) => emit({ kind: 'error', message: e.message }));
server.listen({ port: config.port, host: '::' }, () => emit({ kind: 'ready', pid: process.pid }));
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
