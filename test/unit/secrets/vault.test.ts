import { describe, expect, it } from 'vitest';
import { SecretVault, SecretLeakError } from '../../../src/secrets/index.js';
import { placeholderOf, valueOf, vault } from './helpers.js';

describe('SecretVault.substitute', () => {
  it('replaces a placeholder toward an allowed host', () => {
    const r = vault().substitute(`token ${placeholderOf('GITHUB_TOKEN')}`, 'api.github.com');
    expect(r).toEqual({ ok: true, text: `token ${valueOf('GITHUB_TOKEN')}`, substituted: ['GITHUB_TOKEN'] });
  });

  it('host matching is case-insensitive and ignores a trailing dot', () => {
    expect(vault().substitute(placeholderOf('GITHUB_TOKEN'), 'API.GitHub.com.').ok).toBe(true);
  });

  it('names the secret when the host is not allowed, and changes nothing', () => {
    expect(vault().substitute(`a ${placeholderOf('GITHUB_TOKEN')}`, 'evil.example')).toEqual({ ok: false, leak: 'GITHUB_TOKEN' });
  });

  it('one disallowed placeholder makes the whole text a leak, even next to allowed ones', () => {
    const text = `${placeholderOf('GITHUB_TOKEN')} ${placeholderOf('API_KEY')}`;
    expect(vault().substitute(text, 'github.com')).toEqual({ ok: false, leak: 'API_KEY' });
  });

  it('with several destination names, each must be allowed', () => {
    const v = vault();
    expect(v.substitute(placeholderOf('GITHUB_TOKEN'), ['api.github.com', 'github.com']).ok).toBe(true);
    expect(v.substitute(placeholderOf('GITHUB_TOKEN'), ['api.github.com', 'evil.example'])).toEqual({ ok: false, leak: 'GITHUB_TOKEN' });
    expect(v.substitute(placeholderOf('GITHUB_TOKEN'), [])).toEqual({ ok: false, leak: 'GITHUB_TOKEN' });
  });

  it('binary mode writes the UTF-8 bytes of the value into a latin1 text', () => {
    const r = vault().substitute(placeholderOf('API_KEY'), 'api.example.com', true);
    expect(r.ok && Buffer.from(r.text, 'latin1').toString('utf8')).toBe(valueOf('API_KEY'));
  });

  it('"*" hosts never cover names that cannot be hosts (empty, NUL, URL syntax)', () => {
    const v = new SecretVault([{ name: 'ANY', placeholder: 'SANDCAT_PLACEHOLDER_ANY', value: 'v4lue-any', hosts: ['*'] }]);
    expect(v.substitute('SANDCAT_PLACEHOLDER_ANY', 'x.example').ok).toBe(true);
    for (const bad of ['', '\0cleartext', 'evil.example/path', 'a b', 'user@host']) {
      expect(v.substitute('SANDCAT_PLACEHOLDER_ANY', bad), JSON.stringify(bad)).toEqual({ ok: false, leak: 'ANY' });
    }
  });

  it('a secret with no hosts is a leak everywhere', () => {
    const v = new SecretVault([{ name: 'NOWHERE', placeholder: 'SANDCAT_PLACEHOLDER_NOWHERE', value: 'nowhere-value', hosts: [] }]);
    expect(v.substitute('SANDCAT_PLACEHOLDER_NOWHERE', 'github.com')).toEqual({ ok: false, leak: 'NOWHERE' });
  });
});

describe('overlapping placeholders: the longest match wins, whatever the settings order', () => {
  const a = { name: 'A', placeholder: 'SANDCAT_PLACEHOLDER_A', value: 'value-of-a', hosts: ['*'] };
  const ab = { name: 'AB', placeholder: 'SANDCAT_PLACEHOLDER_AB', value: 'value-of-ab', hosts: ['*'] };
  it.each([
    ['A first', [a, ab]],
    ['AB first', [ab, a]],
  ])('%s', (_label, secrets) => {
    const v = new SecretVault(secrets);
    expect(v.substitute('x SANDCAT_PLACEHOLDER_AB y SANDCAT_PLACEHOLDER_A z', 'h.example')).toEqual({
      ok: true,
      text: 'x value-of-ab y value-of-a z',
      substituted: ['AB', 'A'],
    });
    expect(v.scan('SANDCAT_PLACEHOLDER_ABC')).toEqual(['AB']);
  });

  it('a custom placeholder that contains another one still resolves to the longer', () => {
    const v = new SecretVault([
      { name: 'SHORT', placeholder: 'gho_sandcat', value: 'short-value', hosts: ['*'] },
      { name: 'LONG', placeholder: 'gho_sandcat_long_placeholder', value: 'long-value', hosts: ['*'] },
    ]);
    expect(v.substitute('gho_sandcat_long_placeholder gho_sandcat', 'x.example')).toMatchObject({ text: 'long-value short-value' });
  });
});

describe('scrub (reflection)', () => {
  it('turns values back into placeholders, in text and binary (latin1) form', () => {
    const v = vault();
    expect(v.scrub(`echo: ${valueOf('GITHUB_TOKEN')} and ${valueOf('API_KEY')}`)).toBe(`echo: ${placeholderOf('GITHUB_TOKEN')} and ${placeholderOf('API_KEY')}`);
    const bin = Buffer.from(`x${valueOf('API_KEY')}x`, 'utf8').toString('latin1');
    expect(v.scrub(bin, true)).toBe(`x${placeholderOf('API_KEY')}x`);
    expect(v.scanValues(bin, true)).toEqual(['API_KEY']);
  });

  it('leaves values shorter than 4 bytes alone (they would match by accident)', () => {
    const v = new SecretVault([{ name: 'PIN', placeholder: 'SANDCAT_PLACEHOLDER_PIN', value: '123', hosts: ['*'] }]);
    expect(v.hasScrubbableValues).toBe(false);
    expect(v.scrub('123')).toBe('123');
  });

  it('an empty value (failed lookup) is substituted as empty and never scrubbed', () => {
    const v = new SecretVault([{ name: 'E', placeholder: 'SANDCAT_PLACEHOLDER_E', value: '', hosts: ['*'] }]);
    expect(v.substitute('[SANDCAT_PLACEHOLDER_E]', 'x.example')).toMatchObject({ text: '[]' });
    expect(v.scrub('[]')).toBe('[]');
  });
});

describe('introspection', () => {
  it("a secret's hosts separate IPs from names as the rules do: IP globs match IPs only, name globs names only", () => {
    const v = new SecretVault([{ name: 'LAN', placeholder: 'SANDCAT_PLACEHOLDER_LAN', value: 'lan-value-123', hosts: ['10.9.8.*', 'fd00::1', '*'] }]);
    expect(v.allowsHost('LAN', '10.9.8.7')).toBe(true);
    expect(v.allowsHost('LAN', 'fd00:0:0::1')).toBe(true);
    expect(v.allowsHost('LAN', 'build.example')).toBe(true); // "*" matches names
    const ipOnly = new SecretVault([{ name: 'LAN', placeholder: 'SANDCAT_PLACEHOLDER_LAN', value: 'lan-value-123', hosts: ['10.9.8.*'] }]);
    expect(ipOnly.allowsHost('LAN', '10.9.8.attacker.test')).toBe(false);
    const any = new SecretVault([{ name: 'ANY', placeholder: 'SANDCAT_PLACEHOLDER_ANY', value: 'any-value-123', hosts: ['*'] }]);
    expect(any.allowsHost('ANY', '10.9.8.7')).toBe(false); // an IP literal needs a pattern naming IPs
    expect(any.allowsHost('ANY', '::1')).toBe(false);
  });

  it('lists names and placeholders (longest first), never values', () => {
    const v = vault();
    expect(v.names).toEqual(['GITHUB_TOKEN', 'API_KEY']);
    expect(v.placeholders).toEqual([placeholderOf('GITHUB_TOKEN'), placeholderOf('API_KEY')]);
    expect(v.allowsHost('GITHUB_TOKEN', 'x.github.com')).toBe(true);
    expect(v.allowsHost('GITHUB_TOKEN', 'github.com.evil.example')).toBe(false);
    expect(v.allowsHost('NOPE', 'github.com')).toBe(false);
    expect(v.matches(`..${placeholderOf('API_KEY')}`)).toEqual([{ index: 2, length: placeholderOf('API_KEY').length, name: 'API_KEY' }]);
    expect(SecretVault.EMPTY.isEmpty).toBe(true);
  });

  it('SecretLeakError names the secret and host, never the value', () => {
    const e = new SecretLeakError('GITHUB_TOKEN', 'evil.example');
    expect(e.message).toBe('the placeholder for secret GITHUB_TOKEN may not be sent to evil.example');
    expect(e.code).toBe('E_SECRET_LEAK');
  });
});
