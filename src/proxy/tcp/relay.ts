import net from 'node:net';
import { decideAll, type Decision } from '../../policy/index.js';
import { relayDuplex } from '../http1/handle-upgrade.js';
import { ruleTag, type ProxyRuntime } from '../runtime.js';
import type { ConnectionContext } from '../types.js';

/**
 * Connect to `host:port` by the proxy's own resolution and relay both ways, `first` (bytes already
 * read from the client) going out first. Used for raw TCP and for TLS pass-through.
 */
export function relayTo(rt: ProxyRuntime, conn: ConnectionContext, client: net.Socket, host: string, first: Buffer | null, kind: string, decision: Decision): void {
  const started = performance.now();
  const upstream = net.connect({ host, port: conn.dest.port, allowHalfOpen: true, ...(rt.lookup ? { lookup: rt.lookup } : {}) });
  let connected = false;
  const timer = setTimeout(() => upstream.destroy(new Error('connect timeout')), rt.connectTimeoutMs);
  let up = 0;
  let down = 0;
  upstream.once('connect', () => {
    connected = true;
    clearTimeout(timer);
    if (first?.length) {
      up += first.length;
      upstream.write(first);
    }
    client.on('data', (c: Buffer) => (up += c.length));
    upstream.on('data', (c: Buffer) => (down += c.length));
    relayDuplex(client, upstream, rt.idleTimeoutMs, () =>
      rt.logger.info({ conn: conn.id, client: conn.client, proto: kind, host, port: conn.dest.port, decision: 'allow', rule: ruleTag(decision.rule), bytesUp: up, bytesDown: down, ms: Math.round(performance.now() - started) }, 'connection closed'),
    );
    client.resume();
  });
  upstream.once('error', (err: NodeJS.ErrnoException) => {
    clearTimeout(timer);
    if (connected) return;
    rt.logger.info({ conn: conn.id, client: conn.client, proto: kind, host, port: conn.dest.port, decision: 'allow', rule: ruleTag(decision.rule), error: err.code ?? err.message }, 'upstream connect failed; resetting the client');
    client.resetAndDestroy();
  });
  client.once('close', () => {
    if (!connected) upstream.destroy();
  });
}

/**
 * Raw TCP that is neither TLS nor HTTP (or a server-first protocol that sent nothing): decided on
 * the DNS names the agent resolved to this IP through the proxy, else on the IP literal, with the
 * port. Denied connections are reset.
 */
export function handleRawTcp(rt: ProxyRuntime, conn: ConnectionContext, client: net.Socket, first: Buffer | null): void {
  const snap = rt.state.current;
  const attributed = rt.attribution.namesFor(conn.client, conn.dest.address);
  const names = attributed.length ? [...attributed] : [conn.dest.address];
  const decision = decideAll(snap.policy, names, undefined, conn.dest.port);
  if (decision.action === 'deny') {
    rt.logger.info(
      { conn: conn.id, client: conn.client, proto: 'tcp', dest: conn.dest.address, port: conn.dest.port, names, decision: 'deny', rule: ruleTag(decision.rule), reason: decision.reason, explain: decision.explain },
      'raw TCP connection denied; reset',
    );
    client.resetAndDestroy();
    return;
  }
  // Connect by the proxy's own resolution of the allowed name; the IP only if the rule named it.
  relayTo(rt, conn, client, attributed.length ? attributed[0]! : conn.dest.address, first, 'tcp', decision);
}
