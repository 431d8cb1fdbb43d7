#!/usr/bin/env node
// Regenerate the key reference in docs/settings.md from the zod schema's .describe() texts.
// Run after `npx tsc -p .` (it imports the built schema): node scripts/gen-settings-doc.mjs
// With --check it changes nothing and exits 1 when the document is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = join(fileURLToPath(import.meta.url), '../..');
const { spliceReference } = await import(join(root, 'dist/settings/reference-doc.js'));
const file = join(root, 'docs/settings.md');
const before = readFileSync(file, 'utf8');
const after = spliceReference(before);
if (process.argv.includes('--check')) {
  if (after !== before) {
    console.error('docs/settings.md is stale: run `npx tsc -p . && node scripts/gen-settings-doc.mjs`');
    process.exit(1);
  }
  console.log('docs/settings.md is up to date');
} else if (after !== before) {
  writeFileSync(file, after);
  console.log('docs/settings.md: key reference regenerated');
} else {
  console.log('docs/settings.md: already up to date');
}
