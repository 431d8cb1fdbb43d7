import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SecretVault, type ResolvedSecret } from '../../../src/secrets/index.js';

/** The secrets most tests use. Values are distinctive so a grep for them cannot miss. */
export const SECRETS: ResolvedSecret[] = [
  { name: 'GITHUB_TOKEN', placeholder: 'SANDCAT_PLACEHOLDER_GITHUB_TOKEN', value: 'ghp_REALVALUE_github_0123456789', hosts: ['github.com', '*.github.com'] },
  { name: 'API_KEY', placeholder: 'SANDCAT_PLACEHOLDER_API_KEY', value: 'sk-REAL/api+key=é', hosts: ['api.example.com'] },
];
export const vault = () => new SecretVault(SECRETS);
export const valueOf = (name: string) => SECRETS.find((s) => s.name === name)!.value;
export const placeholderOf = (name: string) => SECRETS.find((s) => s.name === name)!.placeholder;

/** Push `chunks` through `transforms` and collect the bytes, or the error. */
export async function run(transforms: Transform[], chunks: Buffer[]): Promise<{ out: Buffer; error: Error | null }> {
  const parts: Buffer[] = [];
  let error: Error | null = null;
  const sink = async function* (source: AsyncIterable<Buffer>) {
    for await (const c of source) parts.push(c);
  };
  try {
    await pipeline(Readable.from(chunks), ...(transforms as [Transform]), sink);
  } catch (err) {
    error = err as Error;
  }
  return { out: Buffer.concat(parts), error };
}

/** Every way to cut `data` into two chunks (and the unsplit case). */
export function splits(data: Buffer): Buffer[][] {
  const out: Buffer[][] = [[data]];
  for (let i = 1; i < data.length; i++) out.push([data.subarray(0, i), data.subarray(i)]);
  return out;
}

export function bytewise(data: Buffer): Buffer[] {
  return [...data].map((b) => Buffer.from([b]));
}
