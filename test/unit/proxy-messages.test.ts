import { describe, expect, it } from 'vitest';
import { compilePolicy, decide } from '../../src/policy/index.js';
import { parseAuthority, pathForLog } from '../../src/proxy/http/authority.js';
import { stripHopByHop } from '../../src/proxy/http/hop-by-hop.js';
import { policyDeniedText, secretBlockedText, uncheckableBodyText } from '../../src/proxy/http/messages.js';
import { leakMessage } from '../../src/secrets/request.js';
import { classifyUpstreamError, UpstreamTimeoutError } from '../../src/proxy/upstream/failure.js';

describe('403 text', () => {
  const policy = compilePolicy([
    { action: 'deny', host: 'api.example.com', method: 'POST', layer: 'project', index: 2 },
    { action: 'allow', host: '*.example.com', layer: 'user', index: 0 },
  ]);

  it('names the method, the host and the rule, and says retrying will not help', () => {
    const text = policyDeniedText('POST', 'api.example.com', decide(policy, { host: 'api.example.com', method: 'POST' }));
    expect(text).toBe(
      'Blocked by sandcat network policy: POST api.example.com\n' +
        'Reason: rule project settings network[2] (deny "api.example.com" method POST).\n' +
        'Retrying, or working around it with another URL, an IP address, a different tool or a proxy, will not help: ' +
        'the same policy applies to every connection. If this access is needed, ask the user to change the sandcat settings.\n',
    );
  });

  it('says when no rule matched, and which of several names was denied', () => {
    const text = policyDeniedText('GET', 'api.example.com', decide(policy, { host: 'evil.test', method: 'GET' }));
    expect(text).toContain('Denied name: evil.test');
    expect(text).toContain('Reason: no rule matched (default deny).');
  });

  it('says that an IP address needs a rule naming it (a catch-all "*" does not match IPs)', () => {
    const catchAll = compilePolicy([{ layer: 'user', index: 0, action: 'allow', host: '*', method: 'GET' }]);
    const text = policyDeniedText('GET', '1.2.3.4', decide(catchAll, { host: '1.2.3.4', method: 'GET' }));
    expect(text).toContain('Reason: no rule names this IP address (an IP literal is matched only by rules naming IPs, never by "*" or a name pattern).');
  });

  it('wraps a secret refusal with the request line', () => {
    expect(secretBlockedText('GET', 'x.test', 'detail')).toMatch(/^Blocked by sandcat secret policy: GET x\.test\ndetail\n/);
  });

  it('says "sandcat" once: the secrets layer\'s messages read as the line under the request line', () => {
    const text = secretBlockedText('POST', 'evil.test', leakMessage('GITHUB_TOKEN', 'evil.test'));
    expect(text).toMatch(/^Blocked by sandcat secret policy: POST evil\.test\nThis request carries the placeholder for secret GITHUB_TOKEN, /);
    expect(text).not.toContain('sandcat: blocked');
    expect(uncheckableBodyText('POST', 'x.test', 'The request body is encoded with "zstd"')).toBe('Blocked by sandcat: POST x.test\nThe request body is encoded with "zstd"\n');
  });
});

describe('parseAuthority', () => {
  it.each([
    ['api.test', { host: 'api.test', port: undefined }],
    ['API.Test.:8443', { host: 'api.test', port: 8443 }],
    ['[::1]:443', { host: '::1', port: 443 }],
    ['10.0.0.1', { host: '10.0.0.1', port: undefined }],
  ])('%s', (input, expected) => expect(parseAuthority(input)).toEqual(expected));

  it.each(['', 'user@evil.test', 'a b', 'host:99999', 'host:x', '[::1', 'evil.test/path'])('refuses %j', (input) => expect(parseAuthority(input)).toBeNull());
});

describe('pathForLog', () => {
  it('never logs query values', () => {
    expect(pathForLog('/a/b?token=SECRET')).toBe('/a/b?…');
    expect(pathForLog('/plain')).toBe('/plain');
  });
});

describe('stripHopByHop', () => {
  it('drops connection-level headers and the ones Connection names, keeping order and case', () => {
    const out = stripHopByHop(['Host', 'a', 'Connection', 'keep-alive, X-Private', 'X-Private', '1', 'Keep-Alive', 't=5', 'Transfer-Encoding', 'chunked', 'Accept', '*/*']);
    expect(out).toEqual(['Host', 'a', 'Accept', '*/*']);
  });

  it('never lets Connection tokens remove the framing or the Host (smuggling)', () => {
    const out = stripHopByHop(['Host', 'a', 'Connection', 'Content-Length, transfer-encoding, HOST, x-private', 'Content-Length', '5', 'X-Private', '1']);
    expect(out).toEqual(['Host', 'a', 'Content-Length', '5']);
  });

  it('keeps Upgrade/Connection for upgrade requests and drops host for h2', () => {
    expect(stripHopByHop(['Connection', 'Upgrade', 'Upgrade', 'websocket', 'host', 'x'], { keepUpgrade: true, dropHost: true })).toEqual(['Connection', 'Upgrade', 'Upgrade', 'websocket']);
  });
});

describe('classifyUpstreamError', () => {
  it.each([
    [Object.assign(new Error('getaddrinfo ENOTFOUND x'), { code: 'ENOTFOUND' }), 502, 'dns'],
    [Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 502, 'connect'],
    [Object.assign(new Error('unable to verify'), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }), 502, 'tls-verify'],
    [Object.assign(new Error("Hostname/IP does not match certificate's altnames"), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' }), 502, 'tls-verify'],
    [new UpstreamTimeoutError('connect took too long'), 504, 'timeout'],
    [Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 502, 'reset'],
  ])('%s', (err, status, kind) => {
    expect(classifyUpstreamError(err, 'h.test', 443)).toMatchObject({ status, kind });
  });
});
