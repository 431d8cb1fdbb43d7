/**
 * Fuzz: the ClientHello parser and the first-bytes classifier decide what a connection claims to be
 * (its SNI is a name the policy decides on). On mutated real ClientHellos they must never throw, and
 * an accepted SNI must be printable lower-case ASCII: nothing else may reach the policy or the
 * certificate minting.
 */
import net from 'node:net';
import tls from 'node:tls';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseClientHello } from '../../src/proxy/tls/client-hello.js';
import { classify } from '../../src/proxy/sniff.js';
import { ITERATIONS, mutate, rng, SEED } from './prng.js';

/** A real ClientHello from node's TLS client, captured by a loopback server that never answers. */
function captureHello(opts: tls.ConnectionOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((s) => {
      const chunks: Buffer[] = [];
      s.on('data', (d) => {
        chunks.push(d);
        const all = Buffer.concat(chunks);
        if (all.length >= 5 && all.length >= 5 + all.readUInt16BE(3)) {
          resolve(all);
          s.destroy();
          server.close();
        }
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const c = tls.connect({ port: (server.address() as net.AddressInfo).port, host: '127.0.0.1', ...opts });
      c.on('error', () => {});
    });
    server.on('error', reject);
  });
}

describe('fuzz: ClientHello parsing and sniffing', () => {
  const seeds: Buffer[] = [];
  beforeAll(async () => {
    seeds.push(await captureHello({ servername: 'api.allowed.test', ALPNProtocols: ['h2', 'http/1.1'] }));
    seeds.push(await captureHello({ servername: 'a-much-longer-name.with.many.labels.example', minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' }));
    seeds.push(await captureHello({ ALPNProtocols: ['http/1.1'] })); // no SNI
  });

  it('the unmutated seeds parse with their SNI', () => {
    expect(parseClientHello(seeds[0]!)).toMatchObject({ kind: 'ok', hello: { sni: 'api.allowed.test', alpn: ['h2', 'http/1.1'] } });
    expect(parseClientHello(seeds[2]!)).toMatchObject({ kind: 'ok', hello: { sni: undefined } });
  });

  it(`never throws; an accepted SNI is printable lower-case ASCII (seed ${SEED}, ${ITERATIONS} cases)`, () => {
    const r = rng(SEED);
    const kinds: Record<string, number> = {};
    for (let i = 0; i < ITERATIONS; i++) {
      const input = mutate(seeds[i % seeds.length]!, r);
      let parsed: ReturnType<typeof parseClientHello>;
      try {
        parsed = parseClientHello(input);
        classify(input);
      } catch (err) {
        throw new Error(`case ${i} (seed ${SEED}) threw ${(err as Error).message} on ${input.toString('hex')}`);
      }
      kinds[parsed.kind] = (kinds[parsed.kind] ?? 0) + 1;
      if (parsed.kind === 'ok' && parsed.hello.sni !== undefined) {
        const sni = parsed.hello.sni;
        expect(sni, input.toString('hex')).toMatch(/^[\x21-\x7e]+$/);
        expect(sni).toBe(sni.toLowerCase());
      }
    }
    // The mutator reaches every outcome, so the invariants were exercised on accepted hellos too.
    expect(Object.keys(kinds).sort()).toEqual(expect.arrayContaining(['incomplete', 'malformed', 'ok']));
  });
});
