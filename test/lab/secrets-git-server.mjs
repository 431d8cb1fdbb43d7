// An HTTPS server for test/lab/secrets.test.ts, run in the lab's upstream namespace:
//   node secrets-git-server.mjs   (config as JSON in env SECRETS_SERVER_CONFIG)
// Reports every request as one JSON line on stdout; exits when stdin closes.
//
// Routes:
//   /repo.git/…     git smart HTTP, through `git http-backend` as a CGI, behind Basic auth:
//                   401 + WWW-Authenticate until the password equals config.token
//   /reflect?v=…    echoes v back in a response header and in a gzip-compressed body, the way a
//                   careless upstream reflects a credential
import { spawn } from 'node:child_process';
import { createServer } from 'node:https';
import { gzipSync } from 'node:zlib';

const config = JSON.parse(process.env.SECRETS_SERVER_CONFIG ?? '{}');

function emit(event) {
  process.stdout.write(JSON.stringify({ ...event, at: Date.now() }) + '\n');
}

function basicPassword(header) {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header ?? '');
  if (!m) return null;
  const creds = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = creds.indexOf(':');
  return colon === -1 ? null : { user: creds.slice(0, colon), password: creds.slice(colon + 1) };
}

/** Run git http-backend as a CGI with the (whole, small) request body; relay its response. */
function gitBackend(req, res, url, body) {
  const env = {
    PATH: process.env.PATH,
    GIT_PROJECT_ROOT: config.projectRoot,
    GIT_HTTP_EXPORT_ALL: '1',
    REQUEST_METHOD: req.method,
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.slice(1),
    CONTENT_TYPE: req.headers['content-type'] ?? '',
    CONTENT_LENGTH: String(body.length),
    REMOTE_USER: 'lab',
    REMOTE_ADDR: req.socket.remoteAddress ?? '',
    GIT_PROTOCOL: req.headers['git-protocol'] ?? '',
  };
  for (const [k, v] of Object.entries(req.headers)) env[`HTTP_${k.toUpperCase().replace(/-/g, '_')}`] = Array.isArray(v) ? v.join(', ') : v;
  const cgi = spawn('git', ['http-backend'], { env });
  const out = [];
  let err = '';
  cgi.stdout.on('data', (c) => out.push(c));
  cgi.stderr.on('data', (c) => (err += c));
  cgi.on('close', (code) => {
    const all = Buffer.concat(out);
    const sep = all.indexOf('\r\n\r\n') !== -1 ? all.indexOf('\r\n\r\n') : all.indexOf('\n\n');
    const sepLen = all.indexOf('\r\n\r\n') !== -1 ? 4 : 2;
    if (code !== 0 || sep === -1) {
      emit({ kind: 'git-error', code, stderr: err });
      res.writeHead(500);
      return res.end(err);
    }
    let status = 200;
    const headers = {};
    for (const line of all.subarray(0, sep).toString('latin1').split(/\r?\n/)) {
      const i = line.indexOf(':');
      const name = line.slice(0, i).trim();
      const value = line.slice(i + 1).trim();
      if (name.toLowerCase() === 'status') status = Number(value.split(' ')[0]);
      else headers[name] = value;
    }
    res.writeHead(status, headers);
    res.end(all.subarray(sep + sepLen));
  });
  cgi.stdin.end(body);
}

const server = createServer({ cert: config.certPem, key: config.keyPem }, (req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'https://lab');
    const creds = basicPassword(req.headers.authorization);
    emit({ kind: 'request', method: req.method, path: req.url, host: req.headers.host, authorization: req.headers.authorization ?? null, user: creds?.user ?? null, password: creds?.password ?? null, bodySize: body.length });
    if (url.pathname.startsWith('/repo.git/')) {
      if (!creds || creds.password !== config.token) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="sandcat lab git"', 'content-type': 'text/plain' });
        return res.end('authentication required\n');
      }
      return gitBackend(req, res, url, body);
    }
    if (url.pathname === '/reflect') {
      const v = url.searchParams.get('v') ?? '';
      res.writeHead(200, { 'x-reflect': v, 'content-type': 'text/plain', 'content-encoding': 'gzip' });
      return res.end(gzipSync(Buffer.from(`you sent: ${v}\n`)));
    }
    res.writeHead(404);
    res.end();
  });
});
server.on('tlsClientError', (err) => emit({ kind: 'tls-error', message: err.message }));
server.listen({ port: config.port, host: '::' }, () => emit({ kind: 'ready' }));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
