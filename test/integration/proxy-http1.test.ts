import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { gzipSync, gunzipSync } from 'node:zlib';
import https from 'node:https';
import { baseSettings, Harness, PLACEHOLDER, SECRET_VALUE } from './proxy-harness.js';

let h: Harness;
beforeAll(async () => {
  h = await new Harness({ settings: baseSettings() }).start();
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => {
  h.dest = { address: '127.0.0.1', port: h.httpsPort };
  h.attributed = [];
  h.seen.length = 0;
});

describe('HTTP/1.1 over intercepted TLS', () => {
  it('forwards an allowed GET to the upstream and logs one decision line', async () => {
    const r = await h.request({ host: 'api.test', path: '/hello?q=1' });
    expect(r.status).toBe(200);
    const echo = JSON.parse(r.text);
    expect(echo.url).toBe('/hello?q=1');
    expect(echo.headers.host).toBe('api.test');
    const line = h.requestLogs().at(-1)!;
    expect(line).toMatchObject({ method: 'GET', host: 'api.test', path: '/hello?…', decision: 'allow', rule: 'user[1]', status: 200 });
  });

  it('denies a host no rule allows with a readable 403 and sends nothing upstream', async () => {
    const r = await h.request({ host: 'evil.test', path: '/x' });
    expect(r.status).toBe(403);
    expect(r.headers['content-type']).toMatch(/^text\/plain/);
    expect(r.headers['x-sandcat-blocked']).toBe('1');
    expect(r.text).toContain('GET evil.test');
    expect(r.text).toContain('sandcat network policy');
    expect(r.text).toContain('no rule matched');
    expect(r.text).toMatch(/will not help/);
    expect(h.seen).toHaveLength(0);
  });

  it('denies by method rule and names the rule', async () => {
    const r = await h.request({ host: 'api.test', method: 'DELETE', path: '/thing' });
    expect(r.status).toBe(403);
    expect(r.text).toContain('DELETE api.test');
    expect(r.text).toContain('user settings network[0] (deny "api.test" method DELETE)');
    expect(h.seen).toHaveLength(0);
  });

  it('denies when the Host header names a host other than an allowed SNI (fronting)', async () => {
    const r = await h.request({ host: 'evil.test', servername: 'api.test' });
    expect(r.status).toBe(403);
    expect(r.text).toContain('evil.test');
    expect(h.seen).toHaveLength(0);
  });

  it('denies when a DNS-attributed name for the IP is denied', async () => {
    h.attributed = ['evil.test'];
    const r = await h.request({ host: 'api.test' });
    expect(r.status).toBe(403);
    expect(r.text).toContain('Denied name: evil.test');
  });

  it('on a shared IP, other names the agent resolved to it do not matter once the claimed name is among them', async () => {
    h.attributed = ['api.test', 'evil.test'];
    const r = await h.request({ host: 'api.test' });
    expect(r.status).toBe(200);
  });

  it('denies TLS without SNI unless a rule names the IP', async () => {
    const r = await h.request({ host: 'api.test', servername: null });
    expect(r.status).toBe(403);
    expect(r.text).toContain('127.0.0.1');
    expect(h.seen).toHaveLength(0);
  });

  it('keeps the agent connection alive across requests', async () => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    for (let i = 0; i < 3; i++) {
      const r = await new Promise<number>((resolve, reject) => {
        const req = https.request({ host: '127.0.0.1', port: h.proxy.port, servername: 'api.test', ca: h.proxyCaPem, headers: { host: 'api.test' }, agent, path: `/k${i}` });
        req.on('socket', (s) => sockets.add(s));
        req.on('response', (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode!));
        });
        req.on('error', reject);
        req.end();
      });
      expect(r).toBe(200);
    }
    expect(sockets.size).toBe(1);
    agent.destroy();
  });
});

describe('secrets', () => {
  it('substitutes placeholders in the URL (also percent-encoded), a header, Basic auth and a body split across chunks', async () => {
    const encoded = PLACEHOLDER.replace('PLACEHOLDER', '%50LACEHOLDER');
    const basic = Buffer.from(`git:${PLACEHOLDER}`).toString('base64');
    const body = `{"key":"${PLACEHOLDER}"}`;
    const r = await new Promise<{ status: number; text: string; headers: Record<string, unknown> }>((resolve, reject) => {
      const req = https.request({
        host: '127.0.0.1',
        port: h.proxy.port,
        servername: 'api.test',
        ca: h.proxyCaPem,
        method: 'POST',
        path: `/p?a=${PLACEHOLDER}&b=${encoded}`,
        headers: { host: 'api.test', 'x-api-key': PLACEHOLDER, 'x-reflect': PLACEHOLDER, authorization: `Basic ${basic}`, 'transfer-encoding': 'chunked' },
        agent: false,
      });
      req.on('error', reject);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, text: Buffer.concat(chunks).toString(), headers: res.headers }));
      });
      // Split the placeholder across two writes.
      req.write(body.slice(0, 15));
      setTimeout(() => req.end(body.slice(15)), 50);
    });
    expect(r.status).toBe(200);
    const up = h.seen.at(-1)!;
    expect(up.url).toBe(`/p?a=${SECRET_VALUE}&b=${SECRET_VALUE}`);
    expect(up.headers['x-api-key']).toBe(SECRET_VALUE);
    expect(Buffer.from(String(up.headers.authorization).slice(6), 'base64').toString()).toBe(`git:${SECRET_VALUE}`);
    expect(up.body.toString()).toBe(`{"key":"${SECRET_VALUE}"}`);
    // The upstream echoes everything back: the agent must only ever see the placeholder.
    expect(r.text).not.toContain(SECRET_VALUE);
    expect(r.text).toContain(PLACEHOLDER);
    // Reflected headers are scrubbed too (literal values; a base64 re-encoding is not recognised).
    expect(String(r.headers['x-echo-auth'])).toMatch(/^Basic /);
    expect(h.seen.at(-1)!.headers['x-reflect']).toBe(SECRET_VALUE);
    expect(r.headers['x-echo-reflect']).toBe(PLACEHOLDER);
    const line = h.requestLogs().at(-1)!;
    expect(line.substituted).toEqual(['TOKEN']);
    expect(JSON.stringify(h.logs)).not.toContain(SECRET_VALUE);
  });

  it('refuses a placeholder toward a host outside the secret hosts; nothing reaches the upstream', async () => {
    const r = await h.request({ host: 'other.test', method: 'POST', path: '/leak', headers: { 'content-type': 'text/plain' }, body: `token=${PLACEHOLDER}` });
    expect(r.status).toBe(403);
    expect(r.headers['x-sandcat-blocked']).toBe('1');
    expect(r.text).toContain('TOKEN');
    expect(r.text).toContain('other.test');
    expect(h.seen).toHaveLength(0);
    expect(h.requestLogs().at(-1)).toMatchObject({ leak: 'TOKEN', status: 403 });
  });

  it('refuses a placeholder in a header toward another host', async () => {
    const r = await h.request({ host: 'other.test', headers: { authorization: `Bearer ${PLACEHOLDER}` } });
    expect(r.status).toBe(403);
    expect(h.seen).toHaveLength(0);
  });

  it('aborts a large upload whose placeholder comes after the checked prefix, before the upstream gets a complete request', async () => {
    const big = Buffer.concat([Buffer.alloc(300 * 1024, 0x62), Buffer.from(PLACEHOLDER)]);
    const r = await h.request({ host: 'other.test', method: 'POST', path: '/count', body: big, headers: { 'content-type': 'application/octet-stream' } }).catch((e: Error) => ({ status: -1, text: e.message }));
    expect([403, -1]).toContain(r.status);
    await new Promise((res) => setTimeout(res, 100));
    expect(h.seen.filter((s) => s.complete)).toHaveLength(0);
  });

  it('substitutes inside a gzip-compressed request body and re-compresses it', async () => {
    const r = await h.request({ host: 'api.test', method: 'POST', path: '/gz', headers: { 'content-encoding': 'gzip' }, body: gzipSync(`k=${PLACEHOLDER}`) });
    expect(r.status).toBe(200);
    const up = h.seen.at(-1)!;
    expect(up.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(up.body).toString()).toBe(`k=${SECRET_VALUE}`);
  });

  it('refuses a request body in an encoding it cannot check', async () => {
    const r = await h.request({ host: 'api.test', method: 'POST', path: '/z', headers: { 'content-encoding': 'zstd' }, body: 'whatever' });
    expect(r.status).toBe(415);
    expect(h.seen).toHaveLength(0);
  });

  it('scrubs a reflected value from a gzip response (decoded) and passes compressed bodies untouched when nothing needs scrubbing', async () => {
    const r = await h.request({ host: 'api.test', path: '/reflect-gzip', headers: { 'accept-encoding': 'gzip, zstd' } });
    expect(r.status).toBe(200);
    expect(r.headers['content-encoding']).toBeUndefined();
    expect(r.text).toBe(`token=${PLACEHOLDER}\n`);
    expect(h.seen.at(-1)!.headers['accept-encoding']).toBe('gzip');

    await h.setSettings({ network: [{ action: 'allow', host: 'api.test' }] });
    try {
      const plain = await h.request({ host: 'api.test', path: '/reflect-gzip', headers: { 'accept-encoding': 'gzip' } });
      expect(plain.headers['content-encoding']).toBe('gzip');
      expect(gunzipSync(plain.body).toString()).toBe(`token=${SECRET_VALUE}\n`);
    } finally {
      await h.setSettings(baseSettings());
    }
  });
});

describe('plain HTTP', () => {
  beforeEach(() => {
    h.dest = { address: '127.0.0.1', port: h.httpPort };
  });

  it('forwards an allowed plain request', async () => {
    const r = await h.plainRequest({ host: 'plain.test', path: '/p' });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text).headers.host).toBe('plain.test');
  });

  it('refuses any placeholder over cleartext, even toward an allowed secret host', async () => {
    const r = await h.plainRequest({ host: 'api.test', path: `/p?t=${PLACEHOLDER}` });
    expect(r.status).toBe(403);
    expect(r.text).toContain('TOKEN');
    expect(r.text.toLowerCase()).toContain('https');
    expect(h.seen).toHaveLength(0);
    const body = await h.plainRequest({ host: 'api.test', method: 'POST', path: '/p', body: `x=${PLACEHOLDER}` });
    expect(body.status).toBe(403);
    expect(h.seen.filter((s) => s.complete)).toHaveLength(0);
  });
});
