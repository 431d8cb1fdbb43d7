/** `sandcat check` on a secret whose "value" is "": still the substitution, but said to be empty. */
import { describe, expect, it } from 'vitest';
import { evaluateHttp, parseHeaderLines } from '../../src/cli/commands/check.js';
import { mergeLayers } from '../../src/settings/index.js';

const settings = (value: string) =>
  mergeLayers([
    {
      layer: 'user',
      file: '/home/u/.config/sandcat/settings.json',
      text: JSON.stringify({ secrets: { GITHUB_TOKEN: { value, hosts: ['api.github.com'] }, NPM_TOKEN: { value: 'n', hosts: ['api.github.com'] } }, network: [{ action: 'allow', host: 'api.github.com' }] }),
    },
  ]);
const req = { method: 'GET', url: 'https://api.github.com/user', headers: parseHeaderLines(['Authorization: Bearer SANDCAT_PLACEHOLDER_GITHUB_TOKEN', 'X-Npm: SANDCAT_PLACEHOLDER_NPM_TOKEN']) };

describe('sandcat check and empty secrets', () => {
  it('an empty literal value: same decision and fields, plus a note; the reason says it', () => {
    const r = evaluateHttp(settings(''), req);
    expect(r).toMatchObject({ kind: 'http', decision: 'allow', status: 200, leak: null, substituted: ['GITHUB_TOKEN', 'NPM_TOKEN'] });
    expect(r.reason).toMatch(/would substitute GITHUB_TOKEN \(with an empty value\), NPM_TOKEN$/);
    expect(r.note).toBe('secrets.GITHUB_TOKEN.value is "" in /home/u/.config/sandcat/settings.json: the proxy would substitute an empty value; fill it in (sandcat edit user-settings)');
  });
  it('a filled-in value: no note, the reason as before', () => {
    const r = evaluateHttp(settings('ghp_x'), req);
    expect(r.note).toBeUndefined();
    expect('note' in r).toBe(false);
    expect(r.reason).toMatch(/would substitute GITHUB_TOKEN, NPM_TOKEN$/);
  });
});
