/**
 * One DNS exchange with one server, over UDP or TCP. A fresh UDP socket per exchange gives every
 * query its own random source port (with the random ID, ~32 bits an off-path spoofer must guess);
 * exchanges only happen on cache misses, so the cost does not reach the hot path.
 */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { canonicalIp } from './ip.js';
import type { ServerAddress } from './servers.js';

export class DnsTransportError extends Error {
  readonly code: 'ETIMEOUT' | 'ECONNREFUSED' | 'EPROTO' | 'ESOCKET';
  constructor(code: DnsTransportError['code'], message: string) {
    super(message);
    this.name = 'DnsTransportError';
    this.code = code;
  }
}

/** Largest response accepted over TCP (the 16-bit length prefix allows no more anyway). */
const MAX_TCP_MESSAGE = 65535;

/** Send `query` by UDP; resolve with the first datagram from the server that `accept`s. */
export function udpExchange(server: ServerAddress, query: Buffer, timeoutMs: number, accept: (resp: Buffer) => boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = createSocket(server.family === 6 ? 'udp6' : 'udp4');
    const wantHost = canonicalIp(server.host);
    let done = false;
    const finish = (err: Error | null, resp?: Buffer): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try {
        sock.close();
      } catch {
        // already closed after a socket error
      }
      if (err) reject(err);
      else resolve(resp!);
    };
    const timer = setTimeout(() => finish(new DnsTransportError('ETIMEOUT', `no answer from ${server.host}:${server.port} within ${timeoutMs} ms`)), timeoutMs);
    sock.on('error', (err: NodeJS.ErrnoException) => {
      // ICMP port unreachable surfaces as ECONNREFUSED on Linux: the server is not listening.
      finish(new DnsTransportError(err.code === 'ECONNREFUSED' ? 'ECONNREFUSED' : 'ESOCKET', `${server.host}:${server.port}: ${err.message}`));
    });
    sock.on('message', (msg, rinfo) => {
      if (rinfo.port !== server.port || canonicalIp(rinfo.address) !== wantHost) return; // stray datagram
      if (!accept(msg)) return; // wrong ID or question: ignore, keep waiting
      finish(null, msg);
    });
    sock.connect(server.port, server.host, () => {
      sock.send(query, (err) => {
        if (err) finish(new DnsTransportError('ESOCKET', `${server.host}:${server.port}: ${err.message}`));
      });
    });
  });
}

/** Send `query` over TCP (RFC 7766 length prefix); resolve with the first accepted response. */
export function tcpExchange(server: ServerAddress, query: Buffer, timeoutMs: number, accept: (resp: Buffer) => boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: server.host, port: server.port });
    let done = false;
    let pending: Buffer = Buffer.alloc(0);
    const finish = (err: Error | null, resp?: Buffer): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(resp!);
    };
    const timer = setTimeout(() => finish(new DnsTransportError('ETIMEOUT', `no TCP answer from ${server.host}:${server.port} within ${timeoutMs} ms`)), timeoutMs);
    sock.on('error', (err: NodeJS.ErrnoException) => {
      finish(new DnsTransportError(err.code === 'ECONNREFUSED' ? 'ECONNREFUSED' : 'ESOCKET', `${server.host}:${server.port} (tcp): ${err.message}`));
    });
    sock.on('close', () => finish(new DnsTransportError('EPROTO', `${server.host}:${server.port} (tcp) closed before answering`)));
    sock.on('connect', () => {
      const frame = Buffer.allocUnsafe(2 + query.length);
      frame.writeUInt16BE(query.length, 0);
      query.copy(frame, 2);
      sock.write(frame);
    });
    sock.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 2) {
        const len = pending.readUInt16BE(0);
        if (len > MAX_TCP_MESSAGE) return finish(new DnsTransportError('EPROTO', 'oversized TCP response'));
        if (pending.length < 2 + len) return;
        const msg = pending.subarray(2, 2 + len);
        pending = pending.subarray(2 + len);
        if (accept(msg)) return finish(null, Buffer.from(msg));
      }
    });
  });
}
