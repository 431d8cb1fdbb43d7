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
  ])('%j → %s', (input, want) => expect(kind(input)).toBe(want));

  it.each([
    ['SSH-2.0-OpenSSH_9.6\r\n', 'tcp'],
    ['EHLO mail.example\r\n', 'tcp'],
    ['HELLO world\n', 'tcp'],
    [' GET / HTTP/1.1\r\n', 'tcp'],
    ['\x00\x01binary', 'tcp'],
  ])('%j → %s', (input, want) => expect(kind(input)).toBe(want));

  it('waits for the first line before calling an unknown token raw TCP', () => {
    expect(kind('BREW /pot HT')).toBe('more');
    expect(kind('GE')).toBe('more');
    expect(kind('PRI * HTTP/2')).toBe('more');
  });

  it('a first line that never ends within 8 KiB is raw TCP', () => {
    expect(kind('X'.repeat(8192))).toBe('tcp');
    expect(kind('BREW ' + 'a'.repeat(9000))).toBe('tcp');
  });
});
