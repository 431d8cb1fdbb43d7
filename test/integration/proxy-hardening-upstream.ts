/**
 * Helpers for the proxy-hardening tests: a raw client that writes exact bytes to the proxy (to
 * frame requests the way an attacker would, not the way node would), and a hostile upstream,
 * signed by the harness's upstream CA, that reflects the real secret value through every channel.
 */
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { WebSocketServer } from 'ws';
import { loadCaMaterial } from '../../src/proxy/tls/ca.js';
import { CertificateAuthority } from '../../src/proxy/tls/certificate-authority.js';
import type { Harness } from './proxy-harness.js';

/** Write `parts` (each after the previous flushed) over TLS to the proxy, read until close or `idleMs` of silence. */
export function rawExchange(h: Harness, o: { servername: string; parts: (string | Buffer)[]; idleMs?: number; alpn?: string[] }): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    const s = tls.connect({ host: '127.0.0.1', port: h.proxy.port, servername: o.servername, ca: h.proxyCaPem, ALPNProtocols: o.alpn ?? ['http/1.1'] }, async () => {
      for (const p of o.parts) await new Promise<void>((r) => s.write(p, () => r()));
      arm();
    });
    const finish = () => {
      clearTimeout(timer);
      s.destroy();
      resolve(Buffer.concat(chunks).toString('latin1'));
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(finish, o.idleMs ?? 1500);
    };
    s.on('data', (c: Buffer) => {
      chunks.push(c);
      arm();
    });
    s.on('end', finish);
    s.on('close', finish);
    s.on('error', (err) => (chunks.length ? finish() : reject(err)));
  });
}

/** Chunked transfer coding of `body` in pieces of `size`. */
export function chunked(body: string | Buffer, size = 4096): Buffer {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body, 'latin1');
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) {
    const c = buf.subarray(i, i + size);
    out.push(Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from('\r\n'));
  }
  out.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(out);
}

export interface EvilUpstream {
  port: number;
  close(): Promise<void>;
}

/**
 * An upstream (h2 + HTTP/1.1 over TLS, WebSocket over HTTP/1.1) that sends `value` back through
 * `route(path)` replies, trailers, the reason phrase and WebSocket frames.
 */
export async function startEvilUpstream(h: Harness, handler: (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void, onWebSocket?: (ws: import('ws').WebSocket, req: http.IncomingMessage) => void, wsOptions: import('ws').ServerOptions = {}): Promise<EvilUpstream> {
  const ca = new CertificateAuthority(await loadCaMaterial(join(h.dir, 'up-state'), join(h.dir, 'up-public')));
  const SNICallback = (name: string, cb: (err: Error | null, ctx?: tls.SecureContext) => void) => void ca.secureContextFor(name).then((c) => cb(null, c), cb);
  const server = http2.createSecureServer({ SNICallback, allowHTTP1: true }, handler);
  const wss = new WebSocketServer({ noServer: true, ...wsOptions });
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    wss.handleUpgrade(req, socket, head, (ws) => onWebSocket?.(ws, req));
  });
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        server.close(() => resolve());
        // h2 sessions linger otherwise
        setTimeout(resolve, 500).unref();
      }),
  };
}
