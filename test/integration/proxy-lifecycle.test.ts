import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { collect, Harness } from './proxy-harness.js';

describe('proxy lifecycle', () => {
  let h: Harness;
  afterAll(async () => {
    await h?.close();
  });

  it('close() stops accepting, lets an in-flight stream finish, then resolves', async () => {
    h = await new Harness({ settings: { network: [{ action: 'allow', host: 'api.test' }] } }).start();
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      https.get({ host: '127.0.0.1', port: h.proxy.port, servername: 'api.test', ca: h.proxyCaPem, path: '/sse', headers: { host: 'api.test' }, agent: false }, resolve).on('error', reject);
    });
    await new Promise((r) => res.once('data', r));
    const closing = h.proxy.close();
    // New connections are refused at once.
    const refused = await new Promise<string>((resolve) => {
      const s = net.connect(h.proxy.port, '127.0.0.1');
      s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      s.on('connect', () => s.on('close', () => resolve('closed')));
    });
    expect(['ECONNREFUSED', 'closed', 'ECONNRESET']).toContain(refused);
    // The open stream still completes.
    h.gates.get('/sse')!();
    const rest = await collect(res);
    expect(rest.text).toBe('data: last\n\n');
    await closing;
  });

  it('destroy() is idempotent', async () => {
    await h.proxy.destroy();
    await h.proxy.destroy();
    await h.proxy.close();
  });
});
