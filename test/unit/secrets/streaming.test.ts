import { describe, expect, it } from 'vitest';
import { CleartextSecretError, SecretLeakError, SecretVault } from '../../../src/secrets/index.js';
import { bytewise, placeholderOf, run, splits, valueOf, vault } from './helpers.js';

/** Request bodies: substitution with a carry, so a placeholder split across chunks is found. */
describe('requestBodyTransform at every split point', () => {
  const body = Buffer.from(`{"token":"${placeholderOf('GITHUB_TOKEN')}","n":"${placeholderOf('GITHUB_TOKEN')}"}`);
  const want = Buffer.from(`{"token":"${valueOf('GITHUB_TOKEN')}","n":"${valueOf('GITHUB_TOKEN')}"}`);

  it(`substitutes for each of the ${body.length} two-chunk splits`, async () => {
    for (const chunks of splits(body)) {
      const seen: string[] = [];
      const { out, error } = await run([vault().requestBodyTransform('api.github.com', (n) => seen.push(...n))], chunks);
      expect(error).toBeNull();
      expect(out.toString(), `split at ${chunks[0]!.length}`).toBe(want.toString());
      expect(new Set(seen)).toEqual(new Set(['GITHUB_TOKEN']));
    }
  });

  it('substitutes when the body arrives one byte at a time', async () => {
    const { out } = await run([vault().requestBodyTransform('github.com')], bytewise(body));
    expect(out.equals(want)).toBe(true);
  });

  it('writes a non-ASCII value as its UTF-8 bytes', async () => {
    const { out } = await run([vault().requestBodyTransform('api.example.com')], bytewise(Buffer.from(`k=${placeholderOf('API_KEY')}`)));
    expect(out.toString('utf8')).toBe(`k=${valueOf('API_KEY')}`);
  });

  it('passes binary bodies without placeholders through byte for byte', async () => {
    const data = Buffer.alloc(200_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919) & 0xff;
    const chunks = [data.subarray(0, 65536), data.subarray(65536, 65537), data.subarray(65537)];
    const { out } = await run([vault().requestBodyTransform('github.com')], chunks);
    expect(out.equals(data)).toBe(true);
  });

  it(`errors with SecretLeakError naming the secret at every split point`, async () => {
    for (const chunks of splits(body)) {
      const { error } = await run([vault().requestBodyTransform('evil.example')], chunks);
      expect(error).toBeInstanceOf(SecretLeakError);
      expect((error as SecretLeakError).secret).toBe('GITHUB_TOKEN');
      expect((error as SecretLeakError).host).toBe('evil.example');
    }
  });

  it('cleartextBodyGuard errors on any placeholder at every split point, and passes clean bodies unchanged', async () => {
    for (const chunks of splits(body)) {
      const { error } = await run([vault().cleartextBodyGuard('github.com')], chunks);
      expect(error).toBeInstanceOf(CleartextSecretError);
      expect((error as CleartextSecretError).secret).toBe('GITHUB_TOKEN');
    }
    const clean = Buffer.from('SANDCAT_PLACEHOLDER_ but not quite');
    const { out, error } = await run([vault().cleartextBodyGuard('github.com')], splits(clean)[7]!);
    expect(error).toBeNull();
    expect(out.equals(clean)).toBe(true);
  });
});

describe('overlapping placeholders in a stream: the longest wins at every split point', () => {
  const a = { name: 'A', placeholder: 'SANDCAT_PLACEHOLDER_A', value: '<a>', hosts: ['*'] };
  const ab = { name: 'AB', placeholder: 'SANDCAT_PLACEHOLDER_AB', value: '<ab>', hosts: ['*'] };
  const body = Buffer.from('SANDCAT_PLACEHOLDER_AB SANDCAT_PLACEHOLDER_A SANDCAT_PLACEHOLDER_AB');
  it.each([
    ['A listed first', [a, ab]],
    ['AB listed first', [ab, a]],
  ])('%s', async (_label, secrets) => {
    for (const chunks of [...splits(body), bytewise(body)]) {
      const { out } = await run([new SecretVault(secrets).requestBodyTransform('x.example')], chunks);
      expect(out.toString(), `chunks ${chunks.map((c) => c.length).join('+')}`).toBe('<ab> <a> <ab>');
    }
  });
});

describe('responseScrubTransform at every split point', () => {
  const body = Buffer.from(`{"echo":"${valueOf('GITHUB_TOKEN')}","k":"${valueOf('API_KEY')}"}`, 'utf8');
  const want = `{"echo":"${placeholderOf('GITHUB_TOKEN')}","k":"${placeholderOf('API_KEY')}"}`;
  it(`scrubs for each of the ${body.length} two-chunk splits and byte by byte`, async () => {
    for (const chunks of [...splits(body), bytewise(body)]) {
      const { out, error } = await run([vault().responseScrubTransform()], chunks);
      expect(error).toBeNull();
      expect(out.toString('utf8'), `chunks ${chunks.map((c) => c.length).join('+')}`).toBe(want);
    }
  });

  it('is a pass-through when there is nothing to scrub', async () => {
    const t = SecretVault.EMPTY.responseScrubTransform();
    const data = Buffer.from('anything at all');
    const { out } = await run([t], bytewise(data));
    expect(out.equals(data)).toBe(true);
  });
});

describe('latency: only a tail that could still become a needle is held back', () => {
  const firstOutput = (t: import('node:stream').Transform, chunk: Buffer) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('nothing came out without more input')), 500);
      t.once('data', (c: Buffer) => {
        clearTimeout(timer);
        resolve(c.toString('latin1'));
      });
      t.write(chunk);
    });

  it('a server-sent event that cannot be part of a value passes at once (stream left open)', async () => {
    const t = vault().responseScrubTransform();
    expect(await firstOutput(t, Buffer.from('data: {"n":1}\n\n'))).toBe('data: {"n":1}\n\n');
    t.destroy();
  });

  it('a tail that could be the start of a placeholder waits for the next chunk', async () => {
    const t = vault().requestBodyTransform('github.com');
    expect(await firstOutput(t, Buffer.from('abc SANDCAT_PLACE'))).toBe('abc ');
    t.destroy();
  });
});
