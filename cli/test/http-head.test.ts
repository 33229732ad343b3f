import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  HttpHeadError,
  MAX_HEAD_BYTES,
  MAX_HEADERS,
  originRequestHead,
  parseAuthority,
  parseRequestHead,
} from '../http-head.ts';

const bytes = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'latin1'));

function status(text: string): number | undefined {
  try {
    parseRequestHead(bytes(text));
    return undefined;
  } catch (err) {
    if (err instanceof HttpHeadError) return err.status;
    throw err;
  }
}

describe('parseRequestHead', () => {
  it('parses CONNECT and absolute-form heads and says where the body starts', () => {
    const connect = parseRequestHead(
      bytes('CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\nTLS'),
    );
    expect(connect?.head).toEqual({
      method: 'CONNECT',
      target: 'example.org:443',
      version: 'HTTP/1.1',
      headers: [['Host', 'example.org:443']],
    });
    expect(connect?.length).toBe(
      'CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n'.length,
    );
    const get = parseRequestHead(bytes('GET http://a.example/x?y=1 HTTP/1.0\n\n'));
    expect(get?.head.target).toBe('http://a.example/x?y=1');
    expect(get?.head.headers).toEqual([]);
    expect(get?.length).toBe('GET http://a.example/x?y=1 HTTP/1.0\n\n'.length);
  });

  it('waits for more bytes until the blank line, at any split point', () => {
    const text = 'GET http://h/ HTTP/1.1\r\nA: 1\r\nB:2\r\n\r\n';
    for (let cut = 0; cut < text.length; cut++) {
      expect(parseRequestHead(bytes(text.slice(0, cut)))).toBeUndefined();
    }
    expect(parseRequestHead(bytes(text))?.head.headers).toEqual([
      ['A', '1'],
      ['B', '2'],
    ]);
  });

  it.each([
    ['a request line with two parts', 'GET /\r\n\r\n', 400],
    ['a request line with four parts', 'GET / x HTTP/1.1\r\n\r\n', 400],
    ['a method with a bad character', 'G(T http://h/ HTTP/1.1\r\n\r\n', 400],
    ['a control byte in the target', 'GET http://h/\x01 HTTP/1.1\r\n\r\n', 400],
    ['HTTP/2.0', 'GET http://h/ HTTP/2.0\r\n\r\n', 505],
    ['a garbage version', 'GET http://h/ SPDY\r\n\r\n', 400],
    ['a folded header', 'GET http://h/ HTTP/1.1\r\nA: 1\r\n  more\r\n\r\n', 400],
    ['a header without a colon', 'GET http://h/ HTTP/1.1\r\nnocolon\r\n\r\n', 400],
    ['a header with an empty name', 'GET http://h/ HTTP/1.1\r\n: v\r\n\r\n', 400],
    ['a space before the colon', 'GET http://h/ HTTP/1.1\r\nA : v\r\n\r\n', 400],
    ['a NUL in a value', 'GET http://h/ HTTP/1.1\r\nA: x\x00y\r\n\r\n', 400],
    ['a bare CR in a value', 'GET http://h/ HTTP/1.1\r\nA: x\ry\r\n\r\n', 400],
    ['binary garbage', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n\n', 400],
  ])('refuses %s', (_what, text, expected) => {
    expect(status(text)).toBe(expected);
  });

  it('refuses a head over the size limit without waiting for its end', () => {
    const huge = `GET http://h/ HTTP/1.1\r\nA: ${'x'.repeat(MAX_HEAD_BYTES)}`;
    expect(status(huge)).toBe(431);
  });

  it('refuses more than the maximum number of header fields', () => {
    const fields = Array.from({ length: MAX_HEADERS + 1 }, (_, i) => `h${i}: v`).join('\r\n');
    expect(status(`GET http://h/ HTTP/1.1\r\n${fields}\r\n\r\n`)).toBe(431);
    const ok = Array.from({ length: MAX_HEADERS }, (_, i) => `h${i}: v`).join('\r\n');
    expect(status(`GET http://h/ HTTP/1.1\r\n${ok}\r\n\r\n`)).toBeUndefined();
  });

  it('refuses a very long target with 414', () => {
    expect(status(`GET http://h/${'a'.repeat(9000)} HTTP/1.1\r\n\r\n`)).toBe(414);
  });

  it('never throws anything but HttpHeadError on random input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (input) => {
        try {
          const parsed = parseRequestHead(input);
          if (parsed) expect(parsed.length).toBeLessThanOrEqual(input.length);
        } catch (err) {
          expect(err).toBeInstanceOf(HttpHeadError);
        }
      }),
      { numRuns: 5_000 },
    );
  });
});

describe('parseAuthority', () => {
  it('parses names, IPv4 and bracketed IPv6', () => {
    expect(parseAuthority('example.org:443')).toEqual({ host: 'example.org', port: 443 });
    expect(parseAuthority('127.0.0.1:8080')).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(parseAuthority('[::1]:80')).toEqual({ host: '::1', port: 80 });
  });

  it.each([
    'example.org',
    'example.org:',
    ':443',
    'h:0',
    'h:65536',
    'h:99999999',
    '::1:80',
    'a b:1',
    'h:1x',
  ])('refuses %j', (target) => {
    expect(() => parseAuthority(target)).toThrow(HttpHeadError);
  });
});

describe('originRequestHead', () => {
  it('rewrites to origin form, drops hop-by-hop fields and asks the origin to close', () => {
    const parsed = parseRequestHead(
      bytes(
        'POST http://a.example:8080/p?q=1 HTTP/1.1\r\nHost: a.example:8080\r\n' +
          'Proxy-Connection: keep-alive\r\nProxy-Authorization: Basic x\r\nConnection: keep-alive, X-Secret\r\n' +
          'X-Secret: 1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\nKeep-Alive: 5\r\n\r\n',
      ),
    );
    const head = originRequestHead(parsed!.head, new URL(parsed!.head.target));
    expect(head).toBe(
      'POST /p?q=1 HTTP/1.1\r\nHost: a.example:8080\r\nContent-Length: 3\r\n' +
        'Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n',
    );
  });

  it('adds Host from the URL when the client sent none', () => {
    const parsed = parseRequestHead(bytes('GET http://b.example/ HTTP/1.0\r\nAccept: */*\r\n\r\n'));
    expect(originRequestHead(parsed!.head, new URL('http://b.example/'))).toBe(
      'GET / HTTP/1.1\r\nHost: b.example\r\nAccept: */*\r\nConnection: close\r\n\r\n',
    );
  });
});
