import { describe, expect, it } from 'vitest';
import { classify } from '../../src/proxy/sniff.js';

const kind = (s: string) => {
  const v = classify(Buffer.from(s, 'latin1'));
  return v === 'more' ? 'more' : v.kind;
};

describe('classify: anything an HTTP server would parse is HTTP, never raw TCP', () => {
  it.each([
    ['GET / HTTP/1.1\r\n', 'http'],
    ['\r\nGET / HTTP/1.1\r\n', 'http'],
    ['\n', 'http'],
    ['post /x HTTP/1.1\r\n', 'http'],
    ['BREW /pot HTTP/1.1\r\n', 'http'],
    ['PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'h2c'],
    [' GET / HTTP/1.1\r\n', 'http'],
    ['\tGET / HTTP/1.1\r\n', 'http'],
    ['GET\t/\tHTTP/1.1\r\n', 'http'],
  ])('%j → %s', (input, want) => expect(kind(input)).toBe(want));

  it.each([
    ['SSH-2.0-OpenSSH_9.6\r\n', 'tcp'],
    ['EHLO mail.example\r\n', 'tcp'],
    ['HELLO world\n', 'tcp'],
    ['\x00\x01binary', 'tcp'],
  ])('%j → %s', (input, want) => expect(kind(input)).toBe(want));

  it('waits for the first line before calling an unknown token raw TCP', () => {
    expect(kind('BREW /pot HT')).toBe('more');
    expect(kind('GE')).toBe('more');
    expect(kind('PRI * HTTP/2')).toBe('more');
  });

  it('a first line that never ends within 8 KiB goes to the HTTP parser (which refuses it), not the relay', () => {
    expect(kind('X'.repeat(8192))).toBe('http');
    expect(kind('BREW ' + 'a'.repeat(9000))).toBe('http');
  });

  it('TLS that a lenient stack accepts is refused, never raw TCP', () => {
    const alert = Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x01, 0x5a]);
    const ccs = Buffer.from([0x14, 0x03, 0x03, 0x00, 0x01, 0x01]);
    for (const b of [alert, ccs]) expect((classify(b) as { kind: string }).kind).toBe('bad-tls');
    // A ClientHello record with version 0x0001: record header, then handshake type 1 and client_version 3.3.
    const oddVersion = Buffer.from([0x16, 0x00, 0x01, 0x00, 0x30, 0x01, 0x00, 0x00, 0x2c, 0x03, 0x03]);
    expect((classify(oddVersion) as { kind: string }).kind).toBe('bad-tls');
    // Binary protocols that merely start with such a byte still relay.
    expect((classify(Buffer.from([0x15, 0x01, 0x00, 0x00, 0xdd, 0x07])) as { kind: string }).kind).toBe('tcp');
  });
});
