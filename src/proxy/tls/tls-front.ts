import { isIP, type Socket } from 'node:net';
import tls, { type SecureContext } from 'node:tls';
import { decide, decideAll } from '../../policy/index.js';
import { isAcceptableSni } from '../http/authority.js';
import { relayTo } from '../tcp/relay.js';
import { claimedNames, ruleTag, type ProxyRuntime } from '../runtime.js';
import type { ConnectionContext } from '../types.js';
import type { ClientHello } from './client-hello.js';

/** ALPN offered to agents: h2 first, as real servers do. */
const ALPN = ['h2', 'http/1.1'];
const HANDSHAKE_TIMEOUT_MS = 15_000;
/**
 * Stream buffer threshold of the decrypted agent socket (node's default is 16 KiB). TLS yields
 * plaintext in 16 KiB pieces; with a 16 KiB threshold every piece of a streamed body filled the
 * buffer, paused the other leg and went out as its own TLS write and syscall. A threshold, not an
 * allocation: idle connections cost nothing more. Matches STREAM_HIGH_WATER_MARK upstream.
 */
export const AGENT_STREAM_HIGH_WATER_MARK = 256 * 1024;

export interface DecryptedHandlers {
  http1(socket: tls.TLSSocket, conn: ConnectionContext): void;
  http2(socket: tls.TLSSocket, conn: ConnectionContext): void;
}

/**
 * A TLS connection, ClientHello already read (in `data`). Either relay it untouched (a rule with
 * `intercept: false`, after checking every claimed name), or terminate it with a leaf for the SNI
 * (or the destination IP when there is none) and hand the decrypted stream to HTTP/1.1 or HTTP/2.
 * Policy for intercepted connections is decided per request, so a denied host gets a readable 403
 * instead of a TLS failure.
 */
export function handleTls(rt: ProxyRuntime, conn: ConnectionContext, socket: Socket, hello: ClientHello, data: Buffer, handlers: DecryptedHandlers): void {
  const snap = rt.state.current;
  if (hello.sni !== undefined && !isAcceptableSni(hello.sni)) {
    // Same strict charset as Host: a zone ID or other text must never ride along into a decision.
    rt.logger.info({ conn: conn.id, client: conn.client, dest: conn.dest.address, port: conn.dest.port, sni: hello.sni.slice(0, 100), decision: 'deny', reason: 'bad-sni' }, 'TLS server_name is not a valid host name; reset');
    socket.resetAndDestroy();
    return;
  }
  conn.sni = hello.sni;
  const certHost = hello.sni ?? conn.dest.address;

  // Pass-through: only when the first rule for this name says intercept: false.
  const head = decide(snap.policy, { host: certHost, port: conn.dest.port });
  if (head.action === 'allow' && head.rule?.intercept === false) {
    const names = hello.sni ? claimedNames(rt, conn, undefined) : [conn.dest.address];
    // The relayed bytes carry requests the proxy cannot see: a method-limited rule may deny, never allow.
    const all = decideAll(snap.policy, names, undefined, conn.dest.port, { opaque: true });
    if (all.action === 'deny') {
      rt.logger.info({ conn: conn.id, client: conn.client, proto: 'tls-passthrough', sni: hello.sni ?? null, names, decision: 'deny', rule: ruleTag(all.rule), explain: all.explain }, 'TLS pass-through denied; reset');
      socket.resetAndDestroy();
      return;
    }
    relayTo(rt, conn, socket, certHost, data, 'tls-passthrough', all);
    return;
  }
  if (!hello.sni) {
    rt.logger.debug({ conn: conn.id, dest: conn.dest.address }, 'TLS without SNI: requests are decided on the destination IP, denied unless a rule names it');
  } else if (isIP(hello.sni)) {
    rt.logger.debug({ conn: conn.id, sni: hello.sni }, 'TLS SNI is an IP literal');
  }

  const cached = rt.ca.cachedContext(certHost);
  if (cached) return terminate(rt, conn, socket, data, cached, handlers);
  socket.pause();
  rt.ca.secureContextFor(certHost).then(
    (ctx) => {
      if (socket.destroyed) return;
      terminate(rt, conn, socket, data, ctx, handlers);
    },
    (err) => {
      rt.logger.error({ conn: conn.id, host: certHost, err: (err as Error).message }, 'could not mint a certificate; closing');
      socket.destroy();
    },
  );
}

function terminate(rt: ProxyRuntime, conn: ConnectionContext, raw: Socket, data: Buffer, context: SecureContext, handlers: DecryptedHandlers): void {
  // The TLSSocket reads whatever is buffered on `raw` first (node's initRead), so give the
  // ClientHello back.
  raw.unshift(data);
  const socket = new tls.TLSSocket(raw, { isServer: true, secureContext: context, ALPNProtocols: ALPN, highWaterMark: AGENT_STREAM_HIGH_WATER_MARK } as tls.TLSSocketOptions);
  conn.tls = true;
  const timer = setTimeout(() => socket.destroy(), HANDSHAKE_TIMEOUT_MS);
  const onError = (err: NodeJS.ErrnoException) => {
    clearTimeout(timer);
    // Typically the agent does not trust the sandcat CA yet: say so once, at info level.
    rt.logger.info({ conn: conn.id, client: conn.client, sni: conn.sni ?? null, err: err.code ?? err.message }, 'TLS handshake with the agent failed (does it trust the sandcat CA?)');
    socket.destroy();
  };
  socket.once('error', onError);
  socket.once('secure', () => {
    clearTimeout(timer);
    // tls.Server clears this when it emits 'secureConnection'; a hand-made server socket must do
    // it itself, or an HTTP/2 session waits forever for a client-side 'secureConnect'.
    (socket as tls.TLSSocket & { secureConnecting: boolean }).secureConnecting = false;
    socket.off('error', onError);
    socket.on('error', () => socket.destroy());
    if (socket.alpnProtocol === 'h2') handlers.http2(socket, conn);
    else handlers.http1(socket, conn);
  });
}
