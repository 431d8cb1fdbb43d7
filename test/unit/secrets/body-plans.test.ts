import { describe, expect, it } from 'vitest';
import zlib from 'node:zlib';
import { CleartextSecretError, SecretLeakError, SecretVault, limitAcceptEncoding, parseContentEncoding, requestBodyPlan, responseBodyPlan } from '../../../src/secrets/index.js';
import { placeholderOf, run, valueOf, vault } from './helpers.js';

const GH = placeholderOf('GITHUB_TOKEN');
const GH_VALUE = valueOf('GITHUB_TOKEN');
const body = Buffer.from(`{"a":"${GH}","pad":"${'x'.repeat(3000)}","b":"${GH}"}`);
const want = Buffer.from(`{"a":"${GH_VALUE}","pad":"${'x'.repeat(3000)}","b":"${GH_VALUE}"}`);

const encode: Record<string, (b: Buffer) => Buffer> = {
  gzip: (b) => zlib.gzipSync(b),
  'x-gzip': (b) => zlib.gzipSync(b),
  deflate: (b) => zlib.deflateSync(b),
  br: (b) => zlib.brotliCompressSync(b),
};
const decode: Record<string, (b: Buffer) => Buffer> = {
  gzip: (b) => zlib.gunzipSync(b),
  'x-gzip': (b) => zlib.gunzipSync(b),
  deflate: (b) => zlib.inflateSync(b),
  br: (b) => zlib.brotliDecompressSync(b),
};
/** Cut into 7-byte chunks so placeholders in the decoded stream straddle chunk edges too. */
const chunked = (b: Buffer, n = 7) => Array.from({ length: Math.ceil(b.length / n) }, (_, i) => b.subarray(i * n, i * n + n));

describe('requestBodyPlan: compressed request bodies are decoded, substituted and re-encoded', () => {
  it.each(Object.keys(encode))('%s', async (coding) => {
    const plan = requestBodyPlan(vault(), { contentEncoding: coding, host: 'api.github.com', tls: true });
    expect(plan.ok).toBe(true);
    if (!plan.ok) return;
    expect(plan.lengthMayChange).toBe(true);
    const { out, error } = await run(plan.transforms, chunked(encode[coding]!(body)));
    expect(error).toBeNull();
    expect(decode[coding]!(out).equals(want)).toBe(true);
  });

  it('a list of codings (gzip, then br) is undone in reverse and redone in order', async () => {
    const plan = requestBodyPlan(vault(), { contentEncoding: 'gzip, br', host: 'github.com', tls: true });
    if (!plan.ok) throw new Error('plan refused');
    const { out } = await run(plan.transforms, chunked(zlib.brotliCompressSync(zlib.gzipSync(body))));
    expect(zlib.gunzipSync(zlib.brotliDecompressSync(out)).equals(want)).toBe(true);
  });

  it('a leak inside a compressed body errors the stream with SecretLeakError', async () => {
    const plan = requestBodyPlan(vault(), { contentEncoding: 'gzip', host: 'evil.example', tls: true });
    if (!plan.ok) throw new Error('plan refused');
    const { error } = await run(plan.transforms, chunked(zlib.gzipSync(body)));
    expect(error).toBeInstanceOf(SecretLeakError);
  });

  it('over plain HTTP any placeholder (compressed or not) errors with CleartextSecretError', async () => {
    for (const coding of [undefined, 'br']) {
      const plan = requestBodyPlan(vault(), { contentEncoding: coding, host: 'github.com', tls: false });
      if (!plan.ok) throw new Error('plan refused');
      const input = coding ? zlib.brotliCompressSync(body) : body;
      const { error } = await run(plan.transforms, chunked(input));
      expect(error).toBeInstanceOf(CleartextSecretError);
    }
  });

  it('over plain HTTP without codings the bytes are unchanged, so Content-Length can stay', () => {
    const plan = requestBodyPlan(vault(), { host: 'x.example', tls: false });
    expect(plan.ok && plan.lengthMayChange).toBe(false);
  });

  it.each(['zstd', 'compress', 'gzip, zstd', 'constructor'])('refuses "%s" with 415 and a clear message', (coding) => {
    const plan = requestBodyPlan(vault(), { contentEncoding: coding, host: 'github.com', tls: true });
    expect(plan).toMatchObject({ ok: false, status: 415 });
    expect(!plan.ok && plan.message).toMatch(/cannot decode to check it for secret placeholders/);
  });

  it('an empty vault needs no stages at all', () => {
    expect(requestBodyPlan(SecretVault.EMPTY, { contentEncoding: 'zstd', host: 'x', tls: false })).toEqual({ ok: true, transforms: [], lengthMayChange: false });
  });

  it('parseContentEncoding handles identity, case, lists and repeated headers', () => {
    expect(parseContentEncoding(undefined)).toEqual({ ok: true, codings: [] });
    expect(parseContentEncoding('identity')).toEqual({ ok: true, codings: [] });
    expect(parseContentEncoding(['GZIP', ' br '])).toEqual({ ok: true, codings: ['gzip', 'br'] });
    expect(parseContentEncoding('x-gzip,deflate')).toEqual({ ok: true, codings: ['gzip', 'deflate'] });
  });
});

describe('responseBodyPlan: reflection scrubbing of bodies', () => {
  const reflected = Buffer.from(`you sent ${GH_VALUE} and ${GH_VALUE}`);
  const scrubbed = `you sent ${GH} and ${GH}`;

  it('identity: scrubbed at every chunking, Content-Length dropped', async () => {
    const plan = responseBodyPlan(vault(), { status: 200 });
    if (!plan.ok) throw new Error('refused');
    expect(plan.dropHeaders).toEqual(['content-length']);
    for (const n of [1, 2, 3, 5, 8, 13, 1000]) {
      const fresh = responseBodyPlan(vault(), { status: 200 }); // stages are single-use streams
      if (!fresh.ok) throw new Error('refused');
      const { out } = await run(fresh.transforms, chunked(reflected, n));
      expect(out.toString(), `chunks of ${n}`).toBe(scrubbed);
    }
  });

  it.each(['gzip', 'deflate', 'br'])('%s: decoded, scrubbed, and sent as identity', async (coding) => {
    const plan = responseBodyPlan(vault(), { contentEncoding: coding, status: 200 });
    if (!plan.ok) throw new Error('refused');
    expect(plan.dropHeaders).toEqual(['content-encoding', 'content-length']);
    const { out } = await run(plan.transforms, chunked(encode[coding]!(reflected), 4));
    expect(out.toString()).toBe(scrubbed);
  });

  it('raw deflate sent as "deflate" (servers do) is decoded and scrubbed too, however it is split', async () => {
    for (const n of [1, 4, 100_000]) {
      const plan = responseBodyPlan(vault(), { contentEncoding: 'deflate', status: 200 });
      if (!plan.ok) throw new Error('refused');
      const { out, error } = await run(plan.transforms, chunked(zlib.deflateRawSync(reflected), n));
      expect(error, `chunks of ${n}`).toBeNull();
      expect(out.toString(), `chunks of ${n}`).toBe(scrubbed);
    }
  });

  it('bodiless responses need no plan', () => {
    for (const input of [{ method: 'HEAD', status: 200 }, { status: 204 }, { status: 304 }, { status: 101 }]) {
      expect(responseBodyPlan(vault(), input)).toEqual({ ok: true, transforms: [], dropHeaders: [] });
    }
  });

  it('an undecodable coding, or a compressed partial body, is refused with 502', () => {
    expect(responseBodyPlan(vault(), { contentEncoding: 'zstd' })).toMatchObject({ ok: false, status: 502, coding: 'zstd' });
    expect(responseBodyPlan(vault(), { contentEncoding: 'gzip', status: 206 })).toMatchObject({ ok: false, status: 502 });
  });

  it('no scrubbable values: pass through, whatever the coding', () => {
    expect(responseBodyPlan(SecretVault.EMPTY, { contentEncoding: 'zstd' })).toEqual({ ok: true, transforms: [], dropHeaders: [] });
  });

  it('limitAcceptEncoding keeps only codings the scrubber can decode', () => {
    expect(limitAcceptEncoding('gzip, deflate, br, zstd')).toBe('gzip, deflate, br');
    expect(limitAcceptEncoding('zstd;q=1.0, gzip;q=0.5, identity')).toBe('gzip;q=0.5, identity');
    expect(limitAcceptEncoding('*')).toBeUndefined();
    expect(limitAcceptEncoding('zstd')).toBeUndefined();
    expect(limitAcceptEncoding(undefined)).toBeUndefined();
  });
});
