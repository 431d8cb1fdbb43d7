import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { envEntries, renderEnvFile, shellQuote } from '../../../src/daemon/env-file.js';
import type { SecretDefinition } from '../../../src/settings/index.js';

const VALUES: Record<string, string> = {
  EMPTY: '',
  SPACES: '  two  spaces  ',
  QUOTES: `it's "double" and 'single'`,
  EXPANSIONS: '$HOME ${PATH} $(id) `id` $((1+1)) !! \\n',
  NEWLINES: 'line one\nline two\n\n',
  GLOBS: '* ? [a-z] ~ ~root',
  UNICODE: 'héllo — 日本 🐈',
  CONTROL: 'tab\there\rcr\x1b[31mred',
  OPERATORS: '; rm -rf / & | > < #',
};

describe('shellQuote', () => {
  it.each([
    ['plain', `'plain'`],
    [`it's`, `'it'\\''s'`],
    ['', `''`],
  ])('%j → %s', (input, out) => expect(shellQuote(input)).toBe(out));
});

describe('sandcat.env', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sandcat-env-'));
  const file = join(dir, 'sandcat.env');
  writeFileSync(file, renderEnvFile(Object.entries(VALUES).map(([name, value]) => ({ name, value }))));

  for (const shell of ['sh', 'bash']) {
    it.each(Object.keys(VALUES))(`${shell} gives back %s byte for byte`, (name) => {
      const out = execFileSync(shell, ['-c', `. "$1"; printf '%s' "$${name}"`, 'x', file]);
      expect(out.toString('utf8')).toBe(VALUES[name]);
    });
  }

  it('rejects names a shell cannot hold', () => {
    expect(() => renderEnvFile([{ name: '1BAD', value: 'x' }])).toThrow(/not a valid shell variable name/);
    expect(() => renderEnvFile([{ name: 'A-B', value: 'x' }])).toThrow(/not a valid shell variable name/);
    expect(() => renderEnvFile([{ name: 'A', value: 'nul\0' }])).toThrow(/NUL/);
  });

  it('exports placeholders for secrets (never values); a secret wins a name clash, with a warning', () => {
    const secret: SecretDefinition = { name: 'TOKEN', source: { kind: 'value', value: 's3cr3t-v4lue' }, hosts: ['x'], placeholder: 'SANDCAT_PLACEHOLDER_TOKEN', layer: 'user' };
    const { entries, warnings } = envEntries({ env: { TOKEN: 'env-value', OTHER: 'o' }, secrets: { TOKEN: secret } });
    expect(entries).toEqual([
      { name: 'TOKEN', value: 'SANDCAT_PLACEHOLDER_TOKEN' },
      { name: 'OTHER', value: 'o' },
    ]);
    expect(warnings[0]).toMatch(/env\.TOKEN is also a secret/);
    expect(renderEnvFile(entries)).not.toContain('s3cr3t-v4lue');
  });
});
