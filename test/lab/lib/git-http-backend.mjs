// git smart HTTP for the lab's upstream scripts (protocols-upstream.mjs, secrets-git-server.mjs).
import { spawn } from 'node:child_process';

/**
 * Serve one git smart-HTTP request by running `git http-backend` as a CGI: the (whole, small)
 * request body goes to its stdin, its CGI head becomes the response's status and headers.
 * A REMOTE_USER is always set, which enables receive-pack (push).
 *
 *   projectRoot       GIT_PROJECT_ROOT (holds repo.git)
 *   env               more CGI variables (HTTP_* request headers the caller passes on)
 *   lowerCaseHeaders  send the CGI's header names lower-cased
 *   emit              reports a failed run as {kind: 'git-error', code, stderr}; it answers 500
 */
export function serveGitHttpBackend(req, res, url, body, { projectRoot, env = {}, lowerCaseHeaders = false, emit }) {
  const cgiEnv = {
    PATH: process.env.PATH,
    GIT_PROJECT_ROOT: projectRoot,
    GIT_HTTP_EXPORT_ALL: '1',
    REQUEST_METHOD: req.method,
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.slice(1),
    CONTENT_TYPE: req.headers['content-type'] ?? '',
    CONTENT_LENGTH: String(body.length),
    REMOTE_USER: 'lab',
    REMOTE_ADDR: req.socket?.remoteAddress ?? '',
    GIT_PROTOCOL: req.headers['git-protocol'] ?? '',
    ...env,
  };
  const cgi = spawn('git', ['http-backend'], { env: cgiEnv });
  const out = [];
  let err = '';
  cgi.stdout.on('data', (c) => out.push(c));
  cgi.stderr.on('data', (c) => (err += c));
  cgi.on('close', (code) => {
    const all = Buffer.concat(out);
    const crlf = all.indexOf('\r\n\r\n');
    const sep = crlf !== -1 ? crlf : all.indexOf('\n\n');
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
      else headers[lowerCaseHeaders ? name.toLowerCase() : name] = value;
    }
    res.writeHead(status, headers);
    res.end(all.subarray(sep + (crlf !== -1 ? 4 : 2)));
  });
  cgi.stdin.on('error', () => {});
  cgi.stdin.end(body);
}
