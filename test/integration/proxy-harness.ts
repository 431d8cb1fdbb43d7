/**
 * Loopback harness for the interception engine: a real proxy (startProxy) with its own CA, real
 * upstream servers (HTTPS/1.1, HTTP/2, plain HTTP, a server-first TCP banner) signed by a separate
 * test CA the proxy trusts through upstreamCaFiles, and a client side that trusts only the proxy CA.
 * SO_ORIGINAL_DST is replaced by `dest` (the lab proves the real one); names resolve to 127.0.0.1.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import tls from 'node:tls';
import { pino } from 'pino';
import { WebSocketServer } from 'ws';
import { LiveState } from '../../src/daemon/live-state.js';
import { buildSnapshot } from '../../src/daemon/snapshot.js';
import { startProxy, type ProxyHandle } from '../../src/proxy/server.js';
import { loadCaMaterial, loadOrCreateCa } from '../../src/proxy/tls/ca.js';
import { CertificateAuthority } from '../../src/proxy/tls/certificate-authority.js';
import { loadSettings } from '../../src/settings/index.js';

export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  httpVersion: string;
  body: Buffer;
  complete: boolean;
}

export const SECRET_VALUE = 's3cr3t-VALUE-1234';
export const PLACEHOLDER = 'SANDCAT_PLACEHOLDER_TOKEN';

export interface HarnessOptions {
  settings: unknown;
  /** Extra routes on the upstream: return true when handled. */
  route?: (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => boolean;
}

export class Harness {
  dir = '';
  proxy!: ProxyHandle;
  proxyCaPem = '';
  upstreamCaPem = '';
  upstreamCaFile = '';
  /** Where the "agent" meant to connect (what SO_ORIGINAL_DST would say). */
  dest = { address: '127.0.0.1', port: 0 };
  /** DNS names the proxy's DNS "handed out" for the destination IP. */
  attributed: string[] = [];
  logs: Record<string, unknown>[] = [];
  seen: SeenRequest[] = [];
  httpsPort = 0;
  h2Port = 0;
  httpPort = 0;
  bannerPort = 0;
  state!: LiveState;
  /** Resolves (per path) hooks tests use to pace streaming responses. */
  gates = new Map<string, () => void>();
  #servers: net.Server[] = [];
  #opts: HarnessOptions;

  constructor(opts: HarnessOptions) {
    this.#opts = opts;
  }

  async start(): Promise<this> {
    this.dir = mkdtempSync(join(tmpdir(), 'h3-proxy-'));
    const logger = pino(
      { level: 'debug' },
      new Writable({
        write: (chunk: Buffer, _e, cb) => {
          for (const line of chunk.toString('utf8').split('\n')) if (line) this.logs.push(JSON.parse(line));
          cb();
        },
      }),
    );
    const ca = await loadOrCreateCa(join(this.dir, 'state'), join(this.dir, 'public'));
    this.proxyCaPem = ca.certPem;
    const upMaterial = await loadCaMaterial(join(this.dir, 'up-state'), join(this.dir, 'up-public'));
    this.upstreamCaPem = upMaterial.certPem;
    this.upstreamCaFile = join(this.dir, 'up-public', 'ca.pem');
    const upCa = new CertificateAuthority(upMaterial);
    // "badcert.test" is served a certificate for another name: verification must fail.
    const SNICallback = (name: string, cb: (err: Error | null, ctx?: tls.SecureContext) => void) =>
      void upCa.secureContextFor(name === 'badcert.test' ? 'wrong-name.test' : name).then((c) => cb(null, c), cb);

    const handler = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => this.#handle(req, res);
    const httpsServer = https.createServer({ SNICallback, ALPNProtocols: ['http/1.1'] }, handler);
    const wss = new WebSocketServer({ noServer: true });
    const onUpgrade = (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
      this.seen.push({ method: req.method!, url: req.url!, headers: req.headers, httpVersion: req.httpVersion, body: Buffer.alloc(0), complete: true });
      wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (m, isBinary) => ws.send(isBinary ? m : `echo:${m.toString()}`)));
    };
    httpsServer.on('upgrade', onUpgrade);
    const h2Server = http2.createSecureServer({ SNICallback, allowHTTP1: true }, handler);
    const httpServer = http.createServer(handler);
    httpServer.on('upgrade', onUpgrade);
    const banner = net.createServer((s) => {
      s.write('SSH-2.0-h3test\r\n');
      s.on('data', (d) => s.write(`got:${d.toString()}`));
      s.on('error', () => {});
    });
    this.httpsPort = await listen(httpsServer);
    this.h2Port = await listen(h2Server);
    this.httpPort = await listen(httpServer);
    this.bannerPort = await listen(banner);
    this.#servers.push(httpsServer, h2Server, httpServer, banner);
    this.dest.port = this.httpsPort;

    this.state = new LiveState(await this.#snapshot(this.#opts.settings, logger));
    const lookup = ((hostname: string, options: unknown, cb?: unknown) => {
      const callback = (typeof options === 'function' ? options : cb) as (...a: unknown[]) => void;
      const all = typeof options === 'object' && options !== null && (options as { all?: boolean }).all;
      if (hostname.startsWith('nxdomain')) {
        const err = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname });
        return process.nextTick(callback, err);
      }
      if (all) process.nextTick(callback, null, [{ address: '127.0.0.1', family: 4 }]);
      else process.nextTick(callback, null, '127.0.0.1', 4);
    }) as unknown as net.LookupFunction;
    this.proxy = await startProxy({
      host: '127.0.0.1',
      port: 0,
      state: this.state,
      attribution: { namesFor: () => this.attributed },
      lookup,
      ca,
      logger,
      upstreamCaFiles: [this.upstreamCaFile],
      originalDestination: () => ({ ...this.dest }),
      sniffTimeoutMs: 300,
      connectTimeoutMs: 3000,
    });
    return this;
  }

  async #snapshot(settings: unknown, logger: pino.Logger) {
    const file = join(this.dir, `settings-${Date.now()}-${Math.random()}.json`);
    writeFileSync(file, JSON.stringify(settings));
    return buildSnapshot(loadSettings({ userFile: file, projectDir: join(this.dir, 'no-project') }), logger);
  }

  async setSettings(settings: unknown): Promise<void> {
    this.state.replace(await this.#snapshot(settings, pino({ level: 'silent' })));
  }

  #handle(req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse): void {
    const entry: SeenRequest = { method: req.method!, url: req.url!, headers: req.headers as http.IncomingHttpHeaders, httpVersion: req.httpVersion, body: Buffer.alloc(0), complete: false };
    this.seen.push(entry);
    const chunks: Buffer[] = [];
    if (this.#opts.route?.(req, res)) return;
    const path = req.url!.split('?')[0]!;
    if (path === '/sse') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write('data: first\n\n');
      this.gates.set('/sse', () => res.end('data: last\n\n'));
      return;
    }
    if (path.startsWith('/bytes/')) {
      const n = Number(path.slice(7));
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': n });
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      let left = n;
      const pump = () => {
        while (left > 0) {
          const c = left >= chunk.length ? chunk : chunk.subarray(0, left);
          left -= c.length;
          if (!(res as http.ServerResponse).write(c)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
      return;
    }
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      entry.body = Buffer.concat(chunks);
      entry.complete = true;
      if (path === '/count') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(String(entry.body.length));
        return;
      }
      if (path === '/reflect-gzip') {
        const zlib = require_('node:zlib') as typeof import('node:zlib');
        const body = zlib.gzipSync(Buffer.from(`token=${SECRET_VALUE}\n`));
        res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip', 'content-length': body.length });
        res.end(body);
        return;
      }
      // Default: echo what arrived, reflecting the Authorization header back as a response header.
      const auth = req.headers.authorization;
      const out = JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body: entry.body.toString('utf8'), httpVersion: req.httpVersion });
      const reflect = req.headers['x-reflect'];
      res.writeHead(200, { 'content-type': 'application/json', ...(auth ? { 'x-echo-auth': String(auth) } : {}), ...(reflect ? { 'x-echo-reflect': String(reflect) } : {}) });
      res.end(out);
    });
  }

  /** One HTTPS request to the proxy as an agent would send it (TLS with SNI `servername`). */
  request(o: { host: string; path?: string; method?: string; headers?: Record<string, string>; body?: Buffer | string; servername?: string | null; port?: number; agent?: https.Agent | false }): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const req = https.request({
        host: '127.0.0.1',
        port: this.proxy.port,
        path: o.path ?? '/',
        method: o.method ?? 'GET',
        ca: this.proxyCaPem,
        servername: o.servername === null ? '' : (o.servername ?? o.host),
        headers: { host: o.host, ...o.headers },
        agent: o.agent ?? false,
        // no SNI (servername '') means the leaf carries the IP: check against it.
        checkServerIdentity: () => undefined,
      });
      req.on('error', reject);
      req.on('response', (res) => collect(res).then(resolve, reject));
      req.end(o.body);
    });
  }

  /** Plain HTTP request through the proxy. */
  plainRequest(o: { host: string; path?: string; method?: string; headers?: Record<string, string>; body?: string }): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: this.proxy.port, path: o.path ?? '/', method: o.method ?? 'GET', headers: { host: o.host, ...o.headers }, agent: false });
      req.on('error', reject);
      req.on('response', (res) => collect(res).then(resolve, reject));
      req.end(o.body);
    });
  }

  requestLogs(): Record<string, unknown>[] {
    return this.logs.filter((l) => l.msg === 'request');
  }

  async close(): Promise<void> {
    await this.proxy?.destroy();
    for (const s of this.#servers) {
      (s as http.Server).closeAllConnections?.();
      s.close();
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

export function collect(res: http.IncomingMessage): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('error', reject);
    res.on('end', () => {
      const body = Buffer.concat(chunks);
      resolve({ status: res.statusCode!, headers: res.headers, body, text: body.toString('utf8') });
    });
  });
}

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}

import { createRequire } from 'node:module';
const require_ = createRequire(import.meta.url);

/** Settings most proxy tests use. */
export function baseSettings(extra: { bannerPort?: number } = {}): unknown {
  return {
    network: [
      { action: 'deny', host: 'api.test', method: 'DELETE' },
      { action: 'allow', host: 'api.test' },
      { action: 'allow', host: 'other.test' },
      { action: 'allow', host: 'badcert.test' },
      { action: 'allow', host: 'nxdomain.test' },
      { action: 'allow', host: 'pinned.test', intercept: false },
      { action: 'allow', host: 'ssh.test', ...(extra.bannerPort ? { port: extra.bannerPort } : {}) },
      { action: 'allow', host: 'plain.test' },
    ],
    secrets: { TOKEN: { value: SECRET_VALUE, hosts: ['api.test'] } },
  };
}

/** The status of a raw HTTP/1.1 response (0 when none arrived). */
export function http1Status(text: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
}

export interface RawOutcome {
  /** Everything read, latin1. */
  text: string;
  /** The socket's error code (or message), null when it closed cleanly. */
  error: string | null;
}

/** Everything `socket` sends until it closes or `ms` pass (then it is destroyed), and its error if any. */
export function readUntilClose(socket: net.Socket, ms: number): Promise<RawOutcome> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let error: string | null = null;
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    const timer = setTimeout(() => socket.destroy(), ms);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text: Buffer.concat(chunks).toString('latin1'), error });
    });
  });
}

/** A step of rawTcp: strings and buffers are written, numbers are pauses (ms), 'FIN' half-closes. */
export type RawStep = string | Buffer | number | 'FIN';

/**
 * Plain TCP to 127.0.0.1:`port`: run `steps` once connected, read until close or `readMs` after the
 * pauses. `allowHalfOpen` keeps the client's side open after the server's FIN.
 */
export function rawTcp(port: number, steps: readonly RawStep[], o: { readMs?: number; allowHalfOpen?: boolean } = {}): Promise<RawOutcome> {
  const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: o.allowHalfOpen ?? false });
  const outcome = readUntilClose(s, (o.readMs ?? 1500) + steps.reduce<number>((a, x) => a + (typeof x === 'number' ? x : 0), 0));
  s.once('connect', async () => {
    for (const step of steps) {
      if (typeof step === 'number') await new Promise((r) => setTimeout(r, step));
      else if (step === 'FIN') s.end();
      else if (!s.destroyed) s.write(step);
    }
  });
  return outcome;
}

/** A real ClientHello (node's) for `servername`, captured from a TLS client. */
export function capturedClientHello(servername: string): Promise<Buffer> {
  return new Promise((resolve) => {
    const srv = net.createServer((s) =>
      s.once('data', (d) => {
        resolve(d);
        s.destroy();
        srv.close();
      }),
    );
    srv.listen(0, '127.0.0.1', () => {
      const c = tls.connect({ host: '127.0.0.1', port: (srv.address() as net.AddressInfo).port, servername, rejectUnauthorized: false });
      c.on('error', () => {});
    });
  });
}
