import net from 'node:net';
import { decideAll, type Decision } from '../../policy/index.js';
import { ruleTag, type ProxyRuntime } from '../runtime.js';
import { classify, HANDSHAKE_TIMEOUT_MS, type Sniffed } from '../sniff.js';
import type { ConnectionContext } from '../types.js';

/** Hand a connection whose first bytes turned out to be TLS, HTTP or h2 to that handler. */
export type LateDispatch = (sniffed: Exclude<Sniffed, { kind: 'tcp' } | { kind: 'closed' }>) => void;

/**
 * Connect to `host:port` by the proxy's own resolution and relay both ways, `first` (bytes already
 * read from the client) going out first. Used for raw TCP and for TLS pass-through.
 *
 * With `late` (raw TCP), the client's bytes are held back until they classify as raw TCP: a
 * client that stays silent past the sniff timeout (as server-first protocols do) and then starts
 * TLS or HTTP must be intercepted and decided like any TLS/HTTP connection, not piped to the
 * upstream undecided. While the upstream has not spoken, such a connection is torn down upstream
 * and handed to `late` with its bytes; once the upstream has spoken, it is reset.
 */
export function relayTo(rt: ProxyRuntime, conn: ConnectionContext, client: net.Socket, host: string, first: Buffer | null, kind: string, decision: Decision, late?: LateDispatch): void {
  const started = performance.now();
  const upstream = net.connect({ host, port: conn.dest.port, allowHalfOpen: true, ...(rt.lookup ? { lookup: rt.lookup } : {}) });
  let connected = false;
  let upstreamSpoke = false;
  let gateOpen = !late;
  let pending: Buffer = first ?? Buffer.alloc(0);
  let clientEnded = client.readableEnded;
  let finished = false;
  let up = 0;
  let down = 0;
  const connectTimer = setTimeout(() => upstream.destroy(new Error('connect timeout')), rt.connectTimeoutMs);
  let gateTimer: NodeJS.Timeout | undefined;
  const base = { conn: conn.id, client: conn.client, proto: kind, host, port: conn.dest.port };

  const close = () => {
    if (finished) return;
    finished = true;
    clearTimeout(connectTimer);
    clearTimeout(gateTimer);
    client.destroy();
    upstream.destroy();
    if (connected) rt.logger.info({ ...base, decision: 'allow', rule: ruleTag(decision.rule), bytesUp: up, bytesDown: down, ms: Math.round(performance.now() - started) }, 'connection closed');
  };
  const onIdle = () => close();
  const onClientGone = () => {
    if (!connected) {
      finished = true;
      clearTimeout(connectTimer);
      clearTimeout(gateTimer);
      upstream.destroy();
      return;
    }
    close();
  };
  client.on('error', onClientGone);
  client.on('close', onClientGone);

  /** Client bytes may flow now: write what was held back, then pipe. */
  const openGate = () => {
    gateOpen = true;
    clearTimeout(gateTimer);
    client.off('data', onGateData);
    client.off('end', onGateEnd);
    client.pause(); // until the upstream is connected, bytes wait in the socket's buffer
    if (connected) startClientToUpstream();
  };
  const startClientToUpstream = () => {
    if (pending.length) {
      up += pending.length;
      upstream.write(pending);
      pending = Buffer.alloc(0);
    }
    if (clientEnded) {
      upstream.end();
      return;
    }
    client.on('data', (c: Buffer) => (up += c.length));
    client.pipe(upstream);
    client.resume();
  };

  const onGateData = (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    evaluate();
  };
  const onGateEnd = () => {
    clientEnded = true;
    // No more bytes can come: what is held back has no line end (else it would have classified),
    // so it cannot be a complete HTTP request or TLS handshake. Relay it as the raw TCP it is.
    openGate();
  };
  const evaluate = () => {
    if (finished || gateOpen) return;
    const v = classify(pending);
    // Once the upstream has spoken it is a server-first protocol, not an HTTP or TLS server: a
    // short client message that is still an unfinished token (no space, no line end) flows.
    // Its client's bytes may look like an odd TLS record (a length prefix of 0x15…): relayed too.
    if (upstreamSpoke && (v === 'more' || v.kind === 'bad-tls')) return openGate();
    if (v === 'more') {
      if (pending.length > 0 && !gateTimer) {
        gateTimer = setTimeout(() => {
          rt.logger.info({ ...base, dest: conn.dest.address, decision: 'deny', reason: 'unclassified' }, 'raw TCP: the first client bytes never completed a line or handshake; reset');
          finished = true;
          upstream.destroy();
          client.resetAndDestroy();
        }, HANDSHAKE_TIMEOUT_MS);
      }
      return;
    }
    if (v.kind === 'tcp' || v.kind === 'closed') return openGate();
    // TLS, HTTP or h2 after a silence: it must be decided as such, never relayed undecided.
    finished = true;
    clearTimeout(connectTimer);
    clearTimeout(gateTimer);
    client.off('data', onGateData);
    client.off('end', onGateEnd);
    client.off('error', onClientGone);
    client.off('close', onClientGone);
    client.off('timeout', onIdle);
    upstream.unpipe(client);
    upstream.destroy();
    if (upstreamSpoke) {
      rt.logger.info({ ...base, dest: conn.dest.address, decision: 'deny', reason: 'late-' + v.kind }, `raw TCP: the client started ${v.kind.toUpperCase()} after the upstream spoke; reset`);
      client.resetAndDestroy();
      return;
    }
    client.pause();
    rt.logger.debug({ ...base, dest: conn.dest.address, late: v.kind }, 'raw TCP: first client bytes after the sniff timeout are TLS/HTTP; intercepting');
    late!(v);
  };

  upstream.once('connect', () => {
    connected = true;
    clearTimeout(connectTimer);
    upstream.on('error', close);
    upstream.on('close', close);
    client.setTimeout(rt.idleTimeoutMs, onIdle);
    upstream.setTimeout(rt.idleTimeoutMs, onIdle);
    upstream.on('data', (c: Buffer) => {
      down += c.length;
      if (upstreamSpoke) return;
      upstreamSpoke = true;
      if (!gateOpen && pending.length) evaluate();
    });
    upstream.on('end', () => (upstreamSpoke = true));
    upstream.pipe(client);
    if (gateOpen) startClientToUpstream();
  });
  upstream.once('error', (err: NodeJS.ErrnoException) => {
    clearTimeout(connectTimer);
    if (connected || finished) return;
    finished = true;
    clearTimeout(gateTimer);
    rt.logger.info({ ...base, decision: 'allow', rule: ruleTag(decision.rule), error: err.code ?? err.message }, 'upstream connect failed; resetting the client');
    client.resetAndDestroy();
  });

  if (!gateOpen) {
    client.on('data', onGateData);
    client.on('end', onGateEnd);
    if (clientEnded) onGateEnd();
    else {
      evaluate();
      if (!gateOpen && !finished) client.resume();
    }
  }
}

/**
 * Raw TCP that is neither TLS nor HTTP (or a server-first protocol that sent nothing): decided on
 * the DNS names the agent resolved to this IP through the proxy, else on the IP literal, with the
 * port. The connection carries requests the proxy cannot see, so it is `opaque`: a rule limited
 * to a method can deny it but never allow it. Denied connections are reset, but a client that
 * has not sent a classifiable byte yet is given HANDSHAKE_TIMEOUT_MS to turn out to be TLS or
 * HTTP (a pre-connected socket, a slow client), which are decided on their own names and method.
 */
export function handleRawTcp(rt: ProxyRuntime, conn: ConnectionContext, client: net.Socket, first: Buffer | null, late: LateDispatch): void {
  const snap = rt.state.current;
  const attributed = rt.attribution.namesFor(conn.client, conn.dest.address);
  const names = attributed.length ? [...attributed] : [conn.dest.address];
  const decision = decideAll(snap.policy, names, undefined, conn.dest.port, { opaque: true });
  if (decision.action === 'deny') {
    const reset = () => {
      rt.logger.info(
        { conn: conn.id, client: conn.client, proto: 'tcp', dest: conn.dest.address, port: conn.dest.port, names, decision: 'deny', rule: ruleTag(decision.rule), reason: decision.reason, explain: decision.explain },
        'raw TCP connection denied; reset',
      );
      client.resetAndDestroy();
    };
    awaitProtocol(client, first, late, reset);
    return;
  }
  // Connect by the proxy's own resolution of the allowed name; the IP only if the rule named it.
  relayTo(rt, conn, client, attributed.length ? attributed[0]! : conn.dest.address, first, 'tcp', decision, late);
}

/**
 * Read until the client's bytes classify: TLS/HTTP/h2 go to `late`; raw TCP, end of stream or
 * HANDSHAKE_TIMEOUT_MS without a verdict go to `raw`. Nothing is sent anywhere meanwhile.
 */
function awaitProtocol(client: net.Socket, first: Buffer | null, late: LateDispatch, raw: () => void): void {
  let pending: Buffer = first ?? Buffer.alloc(0);
  let done = false;
  const finish = (v: Parameters<LateDispatch>[0] | null) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    client.off('data', onData);
    client.off('end', onEnd);
    client.off('close', onEnd);
    client.pause();
    if (v) late(v);
    else raw();
  };
  const check = () => {
    const v = pending.length ? classify(pending) : 'more';
    if (v === 'more') return;
    finish(v.kind === 'tcp' || v.kind === 'closed' ? null : v);
  };
  const onData = (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    check();
  };
  const onEnd = () => finish(null);
  const timer = setTimeout(() => finish(null), HANDSHAKE_TIMEOUT_MS);
  check();
  if (done) return;
  if (client.readableEnded) return finish(null);
  client.on('data', onData);
  client.on('end', onEnd);
  client.on('close', onEnd);
  client.resume();
}
