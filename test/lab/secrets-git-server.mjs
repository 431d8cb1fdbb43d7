// An HTTPS server for test/lab/secrets.test.ts, run in the lab's upstream namespace:
//   node secrets-git-server.mjs   (config as JSON in env SECRETS_SERVER_CONFIG)
// Reports every request as one JSON line on stdout; exits when stdin closes.
//
// Routes:
//   /repo.git/…     git smart HTTP, through `git http-backend` as a CGI, behind Basic auth:
//                   401 + WWW-Authenticate until the password equals config.token
//   /reflect?v=…    echoes v back in a response header and in a gzip-compressed body, the way a
//                   careless upstream reflects a credential
import { createServer } from 'node:https';
import { gzipSync } from 'node:zlib';
import { serveGitHttpBackend } from './lib/git-http-backend.mjs';

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

/** Every request header as a CGI variable (HTTP_CONTENT_ENCODING, HTTP_AUTHORIZATION, …). */
function headerEnv(headers) {
  const env = {};
  for (const [k, v] of Object.entries(headers)) env[`HTTP_${k.toUpperCase().replace(/-/g, '_')}`] = Array.isArray(v) ? v.join(', ') : v;
  return env;
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
      return serveGitHttpBackend(req, res, url, body, { projectRoot: config.projectRoot, env: headerEnv(req.headers), emit });
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
