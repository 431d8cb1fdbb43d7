import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REFERENCE_BEGIN, REFERENCE_END, renderSettingsReference, spliceReference } from '../../../src/settings/reference-doc.js';
import { KNOWN_KEYS } from '../../../src/settings/schema.js';

const DOC = join(import.meta.dirname, '../../../docs/settings.md');

describe('docs/settings.md key reference', () => {
  it('is current with the schema (regenerate: npx tsc -p . && node scripts/gen-settings-doc.mjs)', () => {
    const doc = readFileSync(DOC, 'utf8');
    expect(spliceReference(doc)).toBe(doc);
  });

  it('documents every key of every level, each with a description', () => {
    const ref = renderSettingsReference();
    for (const key of [...KNOWN_KEYS.root, ...KNOWN_KEYS.rule, ...KNOWN_KEYS.secret]) expect(ref).toMatch(new RegExp(`^\\| \`${key}\` \\| [^|]+.* \\| \\S.+ \\|$`, 'm'));
  });

  it('splices between the markers and keeps the hand-written text around them', () => {
    const doc = `intro\n${REFERENCE_BEGIN}\nold\n${REFERENCE_END}\noutro\n`;
    const out = spliceReference(doc, 'NEW');
    expect(out).toBe('intro\nNEW\noutro\n');
  });
});
