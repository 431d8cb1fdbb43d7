import { describe, expect, it } from 'vitest';
import {
  SecretVault,
  placeholdersInRequestHead,
  placeholdersInUrl,
  scrubHeaderMap,
  scrubRawHeaders,
  substituteHeaderMap,
  substituteHeaderValue,
  substituteRawHeaders,
  substituteRequestHead,
  substituteUrl,
} from '../../../src/secrets/index.js';
import { placeholderOf, valueOf, vault } from './helpers.js';

const GH = placeholderOf('GITHUB_TOKEN');
const GH_VALUE = valueOf('GITHUB_TOKEN');
const API = placeholderOf('API_KEY');
/** sk-REAL/api+key=é percent-encoded as UTF-8, everything but unreserved characters. */
const API_ENCODED = 'sk-REAL%2Fapi%2Bkey%3D%C3%A9';
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

describe('URL: path and query', () => {
  const cases: [label: string, target: string, want: string][] = [
    ['query value', `/repos?access_token=${GH}&x=1`, `/repos?access_token=${GH_VALUE}&x=1`],
    ['path segment', `/v1/${GH}/info`, `/v1/${GH_VALUE}/info`],
    ['every _ percent-encoded', `/q?t=${GH.replace(/_/g, '%5F')}`, `/q?t=${GH_VALUE}`],
    ['lower-case hex', `/q?t=${GH.replace(/_/g, '%5f')}`, `/q?t=${GH_VALUE}`],
    ['every character encoded', `/q?t=${[...GH].map((c) => '%' + c.charCodeAt(0).toString(16)).join('')}`, `/q?t=${GH_VALUE}`],
    ['absolute-form', `https://api.github.com/x?t=${GH}`, `https://api.github.com/x?t=${GH_VALUE}`],
    ['unrelated escapes stay as sent', `/a%2Fb?t=${GH}&u=%20`, `/a%2Fb?t=${GH_VALUE}&u=%20`],
    ['a stray % is literal', `/100%?t=${GH}`, `/100%?t=${GH_VALUE}`],
  ];
  it.each(cases)('%s', (_label, target, want) => {
    expect(substituteUrl(vault(), target, 'api.github.com')).toEqual({ ok: true, text: want, substituted: ['GITHUB_TOKEN'] });
  });

  it('percent-encodes a value with reserved and non-ASCII characters', () => {
    expect(substituteUrl(vault(), `/k?key=${API}`, 'api.example.com')).toMatchObject({ ok: true, text: `/k?key=${API_ENCODED}` });
  });

  it('a placeholder toward a host outside the secret\'s hosts is a leak, encoded or not', () => {
    expect(substituteUrl(vault(), `/?t=${GH}`, 'evil.example')).toEqual({ ok: false, leak: 'GITHUB_TOKEN' });
    expect(substituteUrl(vault(), `/?t=${GH.replace(/_/g, '%5F')}`, 'evil.example')).toEqual({ ok: false, leak: 'GITHUB_TOKEN' });
  });

  it('finds the names for the cleartext check, encoded or not', () => {
    expect(placeholdersInUrl(vault(), `/?a=${GH.replace('_', '%5f')}&b=${API}`).sort()).toEqual(['API_KEY', 'GITHUB_TOKEN']);
    expect(placeholdersInUrl(vault(), '/plain')).toEqual([]);
  });

  it('returns the same string when there is nothing to do', () => {
    const t = '/a%2Fb?c=%ZZ';
    expect(substituteUrl(vault(), t, 'github.com')).toEqual({ ok: true, text: t, substituted: [] });
  });
});

describe('headers', () => {
  it('Bearer and any other header carry the raw value bytes', () => {
    expect(substituteHeaderValue(vault(), 'Authorization', `Bearer ${GH}`, 'api.github.com')).toEqual({ ok: true, text: `Bearer ${GH_VALUE}`, substituted: ['GITHUB_TOKEN'] });
    const r = substituteHeaderValue(vault(), 'X-Api-Key', API, 'api.example.com');
    expect(r.ok && Buffer.from(r.text, 'latin1').toString('utf8')).toBe(valueOf('API_KEY'));
  });

  it.each([
    ['git (user:token)', `x-access-token:${GH}`, `x-access-token:${GH_VALUE}`],
    ['token as user', `${GH}:x-oauth-basic`, `${GH_VALUE}:x-oauth-basic`],
    ['placeholder in both parts', `${GH}:${GH}`, `${GH_VALUE}:${GH_VALUE}`],
  ])('Authorization: Basic — %s is decoded, substituted and re-encoded', (_l, creds, want) => {
    const r = substituteHeaderValue(vault(), 'authorization', `Basic ${b64(creds)}`, 'github.com');
    expect(r).toEqual({ ok: true, text: `Basic ${b64(want)}`, substituted: ['GITHUB_TOKEN'] });
  });

  it('Proxy-Authorization: Basic too, with any scheme capitalisation', () => {
    const r = substituteHeaderValue(vault(), 'Proxy-Authorization', `bAsIc ${b64(`u:${GH}`)}`, 'github.com');
    expect(r).toEqual({ ok: true, text: `bAsIc ${b64(`u:${GH_VALUE}`)}`, substituted: ['GITHUB_TOKEN'] });
  });

  it('Basic credentials with a non-ASCII value are re-encoded from the UTF-8 bytes', () => {
    const r = substituteHeaderValue(vault(), 'Authorization', `Basic ${b64(`u:${API}`)}`, 'api.example.com');
    expect(r.ok && Buffer.from(r.text.slice(6), 'base64').toString('utf8')).toBe(`u:${valueOf('API_KEY')}`);
  });

  it('Basic credentials toward a host outside the secret\'s hosts are a leak', () => {
    expect(substituteHeaderValue(vault(), 'Authorization', `Basic ${b64(`u:${GH}`)}`, 'evil.example')).toEqual({ ok: false, leak: 'GITHUB_TOKEN' });
  });

  it('other headers that look like base64 are not decoded', () => {
    const v = `Basic ${b64(`u:${GH}`)}`;
    expect(substituteHeaderValue(vault(), 'X-Basic', v, 'github.com')).toEqual({ ok: true, text: v, substituted: [] });
  });

  it('a percent-encoded placeholder in a header (cookie) gets an encoded value; a literal one the raw value', () => {
    const r = substituteHeaderValue(vault(), 'Cookie', `a=${API.replace(/_/g, '%5F')}; b=${API}`, 'api.example.com');
    expect(r.ok && Buffer.from(r.text, 'latin1').toString('utf8')).toBe(`a=${API_ENCODED}; b=${valueOf('API_KEY')}`);
  });

  it('a placeholder in a header name is never rewritten but counts as a leak elsewhere', () => {
    expect(substituteHeaderValue(vault(), `X-${GH}`, '1', 'evil.example')).toEqual({ ok: false, leak: 'GITHUB_TOKEN' });
    expect(substituteHeaderValue(vault(), `X-${GH}`, '1', 'github.com')).toEqual({ ok: true, text: '1', substituted: [] });
  });

  it('raw header lists: a copy when changed, the same array when not, never mutated', () => {
    const raw = ['Host', 'api.github.com', 'Authorization', `token ${GH}`, 'Accept', '*/*'];
    const frozen = Object.freeze([...raw]);
    const r = substituteRawHeaders(vault(), frozen, 'api.github.com');
    expect(r).toEqual({ ok: true, headers: ['Host', 'api.github.com', 'Authorization', `token ${GH_VALUE}`, 'Accept', '*/*'], substituted: ['GITHUB_TOKEN'] });
    const same = ['Accept', '*/*'];
    expect(substituteRawHeaders(vault(), same, 'github.com')).toMatchObject({ headers: same });
    expect(substituteRawHeaders(vault(), raw, 'evil.example')).toEqual({ ok: false, leak: 'GITHUB_TOKEN' });
  });

  it('header objects, including repeated values; pseudo-headers are left to substituteUrl', () => {
    const h = { ':path': `/?t=${GH}`, 'x-a': [`1 ${GH}`, '2'], authorization: `Bearer ${GH}` };
    const r = substituteHeaderMap(vault(), h, 'github.com');
    expect(r).toEqual({ ok: true, headers: { ':path': `/?t=${GH}`, 'x-a': [`1 ${GH_VALUE}`, '2'], authorization: `Bearer ${GH_VALUE}` }, substituted: ['GITHUB_TOKEN'] });
    expect(h.authorization).toBe(`Bearer ${GH}`);
  });
});

describe('substituteRequestHead: the whole head, and the cleartext rule', () => {
  const head = (tls: boolean, host: string | string[] = 'api.github.com') => ({
    url: `/user?t=${GH.replace(/_/g, '%5F')}`,
    rawHeaders: ['Host', 'api.github.com', 'Authorization', `Basic ${b64(`x:${GH}`)}`],
    host,
    tls,
  });

  it('over TLS to an allowed host: URL and headers substituted', () => {
    expect(substituteRequestHead(vault(), head(true))).toEqual({
      ok: true,
      url: `/user?t=${GH_VALUE}`,
      headers: ['Host', 'api.github.com', 'Authorization', `Basic ${b64(`x:${GH_VALUE}`)}`],
      substituted: ['GITHUB_TOKEN'],
    });
  });

  it('over plain HTTP: 403 cleartext naming the secret, even toward an allowed host', () => {
    const r = substituteRequestHead(vault(), head(false));
    expect(r).toMatchObject({ ok: false, kind: 'cleartext', secret: 'GITHUB_TOKEN', secrets: ['GITHUB_TOKEN'], host: 'api.github.com', status: 403 });
    expect(!r.ok && r.message).toMatch(/plain-HTTP request to api\.github\.com carries the placeholder for secret GITHUB_TOKEN\. Secrets are only substituted over HTTPS/);
  });

  it('over plain HTTP without placeholders: untouched', () => {
    const h = { url: '/', rawHeaders: ['Host', 'x'], host: 'x.example', tls: false };
    expect(substituteRequestHead(vault(), h)).toEqual({ ok: true, url: '/', headers: h.rawHeaders, substituted: [] });
  });

  it('a leak: 403 naming the secret and the refused name (domain fronting: the one that is not allowed)', () => {
    const r = substituteRequestHead(vault(), head(true, ['api.github.com', 'evil.example']));
    expect(r).toMatchObject({ ok: false, kind: 'leak', secret: 'GITHUB_TOKEN', host: 'evil.example', status: 403 });
    expect(!r.ok && r.message).toContain('secret GITHUB_TOKEN, which may only be sent to the hosts in secrets.GITHUB_TOKEN.hosts; evil.example is not one of them');
  });

  it('placeholdersInRequestHead finds every secret in URL, header names, values and Basic credentials', () => {
    const names = placeholdersInRequestHead(vault(), { url: '/', rawHeaders: ['Authorization', `Basic ${b64(`u:${API}`)}`, `X-${GH}`, '1'] });
    expect(names.sort()).toEqual(['API_KEY', 'GITHUB_TOKEN']);
  });

  it('an empty vault passes everything through', () => {
    const h = head(false);
    expect(substituteRequestHead(SecretVault.EMPTY, h)).toEqual({ ok: true, url: h.url, headers: h.rawHeaders, substituted: [] });
  });
});

describe('response headers: reflection scrubbing', () => {
  it('raw lists and objects', () => {
    const raw = ['Set-Cookie', `t=${GH_VALUE}`, 'X-Echo', Buffer.from(valueOf('API_KEY'), 'utf8').toString('latin1'), 'Server', 'x'];
    expect(scrubRawHeaders(vault(), raw)).toEqual({ headers: ['Set-Cookie', `t=${GH}`, 'X-Echo', API, 'Server', 'x'], scrubbed: ['GITHUB_TOKEN', 'API_KEY'] });
    expect(scrubHeaderMap(vault(), { 'set-cookie': [`a=${GH_VALUE}`, 'b=1'], server: 'x' })).toEqual({ headers: { 'set-cookie': [`a=${GH}`, 'b=1'], server: 'x' }, scrubbed: ['GITHUB_TOKEN'] });
    const clean = ['Server', 'x'];
    expect(scrubRawHeaders(vault(), clean).headers).toBe(clean);
  });
});
