import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToHex, concatBytes, hexToBytes, utf8Encode } from '../bytes.ts';
import { FetchHeadError } from '../errors.ts';
import type { FetchHeadErrorCode } from '../errors.ts';
import {
  decodeFetchRequestHead,
  decodeFetchResponseHead,
  encodeFetchRequestHead,
  encodeFetchResponseHead,
  FetchHeadReader,
  frameFetchHead,
} from '../fetch-head.ts';
import type { FetchRequestHead, FetchResponseHead } from '../fetch-head.ts';
import { MAX_FETCH_HEAD_BYTES, MAX_FETCH_HEADERS } from '../limits.ts';
import { requestHead, responseHead } from './fetch-head-arbitraries.ts';

const hex = (s: string): Uint8Array => hexToBytes(s.replace(/\s+/g, ''));
const ascii = (s: string): string => bytesToHex(utf8Encode(s));
const u16 = (n: number): string => bytesToHex(new Uint8Array([n & 0xff, n >>> 8]));
const str = (s: string): string => u16(s.length) + ascii(s);

function codeOf(fn: () => unknown): FetchHeadErrorCode {
  try {
    fn();
  } catch (err) {
    if (err instanceof FetchHeadError) return err.code;
    throw err;
  }
  throw new Error('no error');
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('no error');
}

const GET: FetchRequestHead = {
  method: 'GET',
  url: 'http://a.b/',
  headers: [['Accept', '*/*']],
  hasBody: false,
};
// flags ‖ method ‖ url ‖ header count ‖ (name ‖ value)*, every length u16 LE.
const GET_HEX = '00 0300 474554 0b00 687474703a2f2f612e622f 0100 0600 416363657074 0300 2a2f2a';

describe('fetch head fixed vectors', () => {
  it('request head: GET with one header', () => {
    expect(bytesToHex(encodeFetchRequestHead(GET))).toBe(bytesToHex(hex(GET_HEX)));
    expect(decodeFetchRequestHead(hex(GET_HEX))).toEqual(GET);
  });

  it('framed request head: u32 LE length first', () => {
    expect(bytesToHex(frameFetchHead(encodeFetchRequestHead(GET)))).toBe(
      bytesToHex(hex(`22000000 ${GET_HEX}`)),
    );
  });

  it('request head: POST with a body and no headers', () => {
    const head: FetchRequestHead = {
      method: 'POST',
      url: 'https://x.y/upload',
      headers: [],
      hasBody: true,
    };
    const bytes = hex('01 0400 504f5354 1200 68747470733a2f2f782e792f75706c6f6164 0000');
    expect(bytesToHex(encodeFetchRequestHead(head))).toBe(bytesToHex(bytes));
    expect(decodeFetchRequestHead(bytes)).toEqual(head);
  });

  it('header values are byte strings: U+00E9 is the single byte 0xE9', () => {
    const head: FetchRequestHead = {
      method: 'GET',
      url: 'http://a.b/',
      headers: [['x-n', 'caf\u00e9\t!']],
      hasBody: false,
    };
    const bytes = hex(
      `00 ${str('GET')} ${str('http://a.b/')} 0100 ${str('x-n')} 0600 636166e90921`,
    );
    expect(bytesToHex(encodeFetchRequestHead(head))).toBe(bytesToHex(bytes));
    expect(decodeFetchRequestHead(bytes)).toEqual(head);
  });

  it('response head: 200 OK with repeated headers kept in order', () => {
    const head: FetchResponseHead = {
      status: 200,
      statusText: 'OK',
      headers: [
        ['content-type', 'text/html'],
        ['set-cookie', 'a=1'],
        ['set-cookie', 'b=2'],
      ],
    };
    const bytes = hex(
      'c800 0200 4f4b 0300' +
        ' 0c00 636f6e74656e742d74797065 0900 746578742f68746d6c' +
        ' 0a00 7365742d636f6f6b6965 0300 613d31' +
        ' 0a00 7365742d636f6f6b6965 0300 623d32',
    );
    expect(bytesToHex(encodeFetchResponseHead(head))).toBe(bytesToHex(bytes));
    expect(decodeFetchResponseHead(bytes)).toEqual(head);
  });

  it('response head: 204 with empty status text (HTTP/2) and no headers', () => {
    const head: FetchResponseHead = { status: 204, statusText: '', headers: [] };
    expect(bytesToHex(encodeFetchResponseHead(head))).toBe('cc0000000000');
    expect(decodeFetchResponseHead(hex('cc00 0000 0000'))).toEqual(head);
  });
});

describe('fetch request head errors', () => {
  const url = str('http://a.b/');
  const cases: Array<[string, string, FetchHeadErrorCode]> = [
    ['empty', '', 'ERR_FETCH_HEAD_TRUNCATED'],
    ['flags only', '00', 'ERR_FETCH_HEAD_TRUNCATED'],
    ['reserved flag bit 1', `02 ${str('GET')} ${url} 0000`, 'ERR_FETCH_HEAD_INVALID'],
    ['reserved flag bit 7', `81 ${str('GET')} ${url} 0000`, 'ERR_FETCH_HEAD_INVALID'],
    ['empty method', `00 0000 ${url} 0000`, 'ERR_FETCH_HEAD_INVALID'],
    ['method of 33 bytes (checked before reading it)', `00 2100 474554`, 'ERR_FETCH_HEAD_INVALID'],
    ['method with a space', `00 ${str('G T')} ${url} 0000`, 'ERR_FETCH_HEAD_INVALID'],
    ['method with a colon', `00 ${str('G:T')} ${url} 0000`, 'ERR_FETCH_HEAD_INVALID'],
    ['method cut short', `00 0300 4745`, 'ERR_FETCH_HEAD_TRUNCATED'],
    ['no url length', `00 ${str('GET')}`, 'ERR_FETCH_HEAD_TRUNCATED'],
    ['empty url', `00 ${str('GET')} 0000 0000`, 'ERR_FETCH_HEAD_INVALID'],
    [
      'url of 8193 bytes (checked before reading it)',
      `00 ${str('GET')} 0120`,
      'ERR_FETCH_HEAD_INVALID',
    ],
    ['url cut short', `00 ${str('GET')} 0b00 6874`, 'ERR_FETCH_HEAD_TRUNCATED'],
    ['ftp url', `00 ${str('GET')} ${str('ftp://a.b/')} 0000`, 'ERR_FETCH_HEAD_INVALID'],
    ['upper-case scheme', `00 ${str('GET')} ${str('HTTP://a.b/')} 0000`, 'ERR_FETCH_HEAD_INVALID'],
    ['relative url', `00 ${str('GET')} ${str('/index.html')} 0000`, 'ERR_FETCH_HEAD_INVALID'],
    ['http: without //', `00 ${str('GET')} ${str('http:a.b')} 0000`, 'ERR_FETCH_HEAD_INVALID'],
    [
      'url that does not parse',
      `00 ${str('GET')} ${str('http://')} 0000`,
      'ERR_FETCH_HEAD_INVALID',
    ],
    [
      'url with bad port',
      `00 ${str('GET')} ${str('http://a:99999/')} 0000`,
      'ERR_FETCH_HEAD_INVALID',
    ],
    [
      'url with credentials',
      `00 ${str('GET')} ${str('http://u:p@a/')} 0000`,
      'ERR_FETCH_HEAD_INVALID',
    ],
    [
      'url with a fragment',
      `00 ${str('GET')} ${str('http://a/#x')} 0000`,
      'ERR_FETCH_HEAD_INVALID',
    ],
    ['url with a space', `00 ${str('GET')} ${str('http://a/ b')} 0000`, 'ERR_FETCH_HEAD_INVALID'],
    ['url with DEL', `00 ${str('GET')} 0a00 687474703a2f2f612f7f 0000`, 'ERR_FETCH_HEAD_INVALID'],
    [
      'url with a 0xC3 byte',
      `00 ${str('GET')} 0a00 687474703a2f2f612fc3 0000`,
      'ERR_FETCH_HEAD_INVALID',
    ],
    ['no header count', `00 ${str('GET')} ${url}`, 'ERR_FETCH_HEAD_TRUNCATED'],
    [
      '101 headers (checked from the count)',
      `00 ${str('GET')} ${url} 6500`,
      'ERR_FETCH_HEAD_TOO_MANY_HEADERS',
    ],
    ['65535 headers', `00 ${str('GET')} ${url} ffff`, 'ERR_FETCH_HEAD_TOO_MANY_HEADERS'],
    [
      'fewer headers than counted',
      `00 ${str('GET')} ${url} 0200 ${str('a')} ${str('b')}`,
      'ERR_FETCH_HEAD_TRUNCATED',
    ],
    [
      'header value cut short',
      `00 ${str('GET')} ${url} 0100 ${str('a')} 0500 6162`,
      'ERR_FETCH_HEAD_TRUNCATED',
    ],
    [
      'empty header name',
      `00 ${str('GET')} ${url} 0100 0000 ${str('b')}`,
      'ERR_FETCH_HEAD_INVALID',
    ],
    [
      'header name with a colon',
      `00 ${str('GET')} ${url} 0100 ${str('a:')} ${str('b')}`,
      'ERR_FETCH_HEAD_INVALID',
    ],
    [
      'header name with a space',
      `00 ${str('GET')} ${url} 0100 ${str('a b')} ${str('b')}`,
      'ERR_FETCH_HEAD_INVALID',
    ],
    [
      'header name with 0xE9',
      `00 ${str('GET')} ${url} 0100 0100 e9 ${str('b')}`,
      'ERR_FETCH_HEAD_INVALID',
    ],
    [
      'header value with CR',
      `00 ${str('GET')} ${url} 0100 ${str('a')} 0200 620d`,
      'ERR_FETCH_HEAD_INVALID',
    ],
    [
      'header value with LF',
      `00 ${str('GET')} ${url} 0100 ${str('a')} 0200 0a62`,
      'ERR_FETCH_HEAD_INVALID',
    ],
    [
      'header value with NUL',
      `00 ${str('GET')} ${url} 0100 ${str('a')} 0100 00`,
      'ERR_FETCH_HEAD_INVALID',
    ],
    [
      'header value with 0x01',
      `00 ${str('GET')} ${url} 0100 ${str('a')} 0100 01`,
      'ERR_FETCH_HEAD_INVALID',
    ],
    [
      'header value with DEL',
      `00 ${str('GET')} ${url} 0100 ${str('a')} 0100 7f`,
      'ERR_FETCH_HEAD_INVALID',
    ],
    ['a trailing byte', `${GET_HEX} 00`, 'ERR_FETCH_HEAD_INVALID'],
  ];
  for (const [title, bytes, code] of cases) {
    it(`${title} → ${code}`, () =>
      expect(codeOf(() => decodeFetchRequestHead(hex(bytes)))).toBe(code));
  }

  it('every strict prefix of a valid head is ERR_FETCH_HEAD_TRUNCATED', () => {
    fc.assert(
      fc.property(requestHead, (head) => {
        const bytes = encodeFetchRequestHead(head);
        for (let n = 0; n < bytes.length; n++) {
          expect(codeOf(() => decodeFetchRequestHead(bytes.subarray(0, n)))).toBe(
            'ERR_FETCH_HEAD_TRUNCATED',
          );
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe('fetch response head errors', () => {
  const cases: Array<[string, string, FetchHeadErrorCode]> = [
    ['empty', '', 'ERR_FETCH_HEAD_TRUNCATED'],
    ['status cut short', 'c8', 'ERR_FETCH_HEAD_TRUNCATED'],
    ['status 99', '6300 0000 0000', 'ERR_FETCH_HEAD_INVALID'],
    ['status 600', '5802 0000 0000', 'ERR_FETCH_HEAD_INVALID'],
    ['status 0', '0000 0000 0000', 'ERR_FETCH_HEAD_INVALID'],
    ['status 65535', 'ffff 0000 0000', 'ERR_FETCH_HEAD_INVALID'],
    [
      'status text of 1025 bytes (checked before reading it)',
      'c800 0104',
      'ERR_FETCH_HEAD_INVALID',
    ],
    ['status text with LF', 'c800 0200 4f0a 0000', 'ERR_FETCH_HEAD_INVALID'],
    ['status text with NUL', 'c800 0100 00 0000', 'ERR_FETCH_HEAD_INVALID'],
    ['status text cut short', 'c800 0200 4f', 'ERR_FETCH_HEAD_TRUNCATED'],
    ['no header count', 'c800 0000', 'ERR_FETCH_HEAD_TRUNCATED'],
    ['101 headers', 'c800 0000 6500', 'ERR_FETCH_HEAD_TOO_MANY_HEADERS'],
    [
      'header name with a slash',
      `c800 0000 0100 ${str('a/b')} ${str('c')}`,
      'ERR_FETCH_HEAD_INVALID',
    ],
    ['header value with CR LF', `c800 0000 0100 ${str('a')} 0300 620d0a`, 'ERR_FETCH_HEAD_INVALID'],
    ['a trailing byte', 'c800 0000 0000 00', 'ERR_FETCH_HEAD_INVALID'],
  ];
  for (const [title, bytes, code] of cases) {
    it(`${title} → ${code}`, () =>
      expect(codeOf(() => decodeFetchResponseHead(hex(bytes)))).toBe(code));
  }

  it('accepts statuses 100 and 599, 1024 bytes of status text and obs-text', () => {
    expect(decodeFetchResponseHead(hex('6400 0000 0000')).status).toBe(100);
    expect(decodeFetchResponseHead(hex('5702 0000 0000')).status).toBe(599);
    const text = 'x'.repeat(1024);
    expect(decodeFetchResponseHead(hex(`c800 ${str(text)} 0000`)).statusText).toBe(text);
    expect(decodeFetchResponseHead(hex('c800 0200 ff09 0000')).statusText).toBe('\u00ff\t');
  });

  it('every strict prefix of a valid head is ERR_FETCH_HEAD_TRUNCATED', () => {
    fc.assert(
      fc.property(responseHead, (head) => {
        const bytes = encodeFetchResponseHead(head);
        for (let n = 0; n < bytes.length; n++) {
          expect(codeOf(() => decodeFetchResponseHead(bytes.subarray(0, n)))).toBe(
            'ERR_FETCH_HEAD_TRUNCATED',
          );
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe('fetch head size limits', () => {
  // A response head of exactly `size` bytes: 6 fixed bytes plus one header of 4 + 1 + n bytes.
  const responseOfSize = (size: number): FetchResponseHead => ({
    status: 200,
    statusText: '',
    headers: [['a', 'v'.repeat(size - 11)]],
  });

  it('a head of exactly 16 KiB is fine both ways; one byte more is ERR_FETCH_HEAD_TOO_LARGE', () => {
    const max = encodeFetchResponseHead(responseOfSize(MAX_FETCH_HEAD_BYTES));
    expect(max.length).toBe(MAX_FETCH_HEAD_BYTES);
    expect(decodeFetchResponseHead(max)).toEqual(responseOfSize(MAX_FETCH_HEAD_BYTES));
    expect(codeOf(() => encodeFetchResponseHead(responseOfSize(MAX_FETCH_HEAD_BYTES + 1)))).toBe(
      'ERR_FETCH_HEAD_TOO_LARGE',
    );
    const over = concatBytes(max, hex('00'));
    expect(codeOf(() => decodeFetchResponseHead(over))).toBe('ERR_FETCH_HEAD_TOO_LARGE');
    expect(codeOf(() => decodeFetchRequestHead(over))).toBe('ERR_FETCH_HEAD_TOO_LARGE');
    expect(codeOf(() => frameFetchHead(over))).toBe('ERR_FETCH_HEAD_TOO_LARGE');
    expect(frameFetchHead(max).length).toBe(MAX_FETCH_HEAD_BYTES + 4);
  });

  it('a request with a huge header value is refused without encoding it', () => {
    const head = { ...GET, headers: [['a', 'v'.repeat(10_000_000)]] as Array<[string, string]> };
    expect(codeOf(() => encodeFetchRequestHead(head))).toBe('ERR_FETCH_HEAD_TOO_LARGE');
  });

  it('100 headers are fine; 101 are ERR_FETCH_HEAD_TOO_MANY_HEADERS both ways', () => {
    const headers = (n: number): Array<[string, string]> =>
      Array.from({ length: n }, (_, i) => [`h${i}`, 'v']);
    const ok = { ...GET, headers: headers(MAX_FETCH_HEADERS) };
    expect(decodeFetchRequestHead(encodeFetchRequestHead(ok))).toEqual(ok);
    expect(codeOf(() => encodeFetchRequestHead({ ...GET, headers: headers(101) }))).toBe(
      'ERR_FETCH_HEAD_TOO_MANY_HEADERS',
    );
    // Counted before looking at the entries, so even junk entries give this code.
    const junk = new Array<[string, string]>(5000);
    expect(
      codeOf(() => encodeFetchResponseHead({ status: 200, statusText: '', headers: junk })),
    ).toBe('ERR_FETCH_HEAD_TOO_MANY_HEADERS');
  });
});

describe('fetch head encoder validation', () => {
  it('applies the decoder rules', () => {
    const bad: Array<Partial<FetchRequestHead>> = [
      { method: '' },
      { method: 'G T' },
      { method: 'x'.repeat(33) },
      { method: 'GÉT' },
      { url: '' },
      { url: 'ftp://a/' },
      { url: 'http://a/ b' },
      { url: 'http://a/\u00e9' },
      { url: 'http://u@a/' },
      { url: 'http://a/#' },
      { url: `http://a/${'x'.repeat(8192)}` },
      { headers: [['', 'v']] },
      { headers: [['a b', 'v']] },
      { headers: [['a', 'v\r\n']] },
      { headers: [['a', '\u0100']] },
      { headers: [['a', '\u{1f600}']] },
    ];
    for (const patch of bad) {
      expect(codeOf(() => encodeFetchRequestHead({ ...GET, ...patch }))).toBe(
        'ERR_FETCH_HEAD_INVALID',
      );
    }
    const response: FetchResponseHead = { status: 200, statusText: 'OK', headers: [] };
    for (const patch of [
      { status: 99 },
      { status: 600 },
      { statusText: 'a\nb' },
      { statusText: 'x'.repeat(1025) },
    ]) {
      expect(codeOf(() => encodeFetchResponseHead({ ...response, ...patch }))).toBe(
        'ERR_FETCH_HEAD_INVALID',
      );
    }
  });

  it('throws TypeError / RangeError naming the field for wrong types', () => {
    const cases: Array<[() => unknown, ErrorConstructor, RegExp]> = [
      [() => encodeFetchRequestHead(null as unknown as FetchRequestHead), TypeError, /head/],
      [() => encodeFetchRequestHead({ ...GET, method: 1 } as never), TypeError, /head\.method/],
      [() => encodeFetchRequestHead({ ...GET, url: undefined } as never), TypeError, /head\.url/],
      [() => encodeFetchRequestHead({ ...GET, hasBody: 1 } as never), TypeError, /head\.hasBody/],
      [() => encodeFetchRequestHead({ ...GET, headers: {} } as never), TypeError, /head\.headers/],
      [
        () => encodeFetchRequestHead({ ...GET, headers: [['a']] } as never),
        TypeError,
        /headers\[0\]/,
      ],
      [
        () => encodeFetchRequestHead({ ...GET, headers: [['a', 1]] } as never),
        TypeError,
        /headers\[0\]\[1\]/,
      ],
      [
        () => encodeFetchResponseHead({ status: '200', statusText: '', headers: [] } as never),
        TypeError,
        /head\.status/,
      ],
      [
        () => encodeFetchResponseHead({ status: 200.5, statusText: '', headers: [] }),
        RangeError,
        /head\.status.*200\.5/,
      ],
      [() => decodeFetchRequestHead([0] as unknown as Uint8Array), TypeError, /bytes/],
      [() => frameFetchHead('x' as unknown as Uint8Array), TypeError, /head/],
    ];
    for (const [fn, type, message] of cases) {
      const err = thrown(fn);
      expect(err).toBeInstanceOf(type);
      expect((err as Error).message).toMatch(message);
    }
  });
});

describe('fetch head round trips (fast-check)', () => {
  it('request: encode → decode gives an equal head; decode → encode the same bytes', () => {
    fc.assert(
      fc.property(requestHead, (head) => {
        const bytes = encodeFetchRequestHead(head);
        expect(decodeFetchRequestHead(bytes)).toEqual(head);
        expect(bytesToHex(encodeFetchRequestHead(decodeFetchRequestHead(bytes)))).toBe(
          bytesToHex(bytes),
        );
      }),
      { numRuns: 1000 },
    );
  });

  it('response: encode → decode gives an equal head; decode → encode the same bytes', () => {
    fc.assert(
      fc.property(responseHead, (head) => {
        const bytes = encodeFetchResponseHead(head);
        expect(decodeFetchResponseHead(bytes)).toEqual(head);
        expect(bytesToHex(encodeFetchResponseHead(decodeFetchResponseHead(bytes)))).toBe(
          bytesToHex(bytes),
        );
      }),
      { numRuns: 1000 },
    );
  });

  it('FetchHeadReader reassembles a framed head from any chunking', () => {
    fc.assert(
      fc.property(
        requestHead,
        fc.uint8Array({ maxLength: 64 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (head, body, cuts) => {
          const stream = concatBytes(frameFetchHead(encodeFetchRequestHead(head)), body);
          const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort(
            (a, b) => a - b,
          );
          const reader = new FetchHeadReader();
          let start = 0;
          let frame = null;
          const restParts: Uint8Array[] = [];
          for (const end of [...points, stream.length]) {
            const chunk = stream.subarray(start, end);
            start = end;
            if (frame !== null) {
              restParts.push(chunk);
              continue;
            }
            reader.push(chunk);
            expect(reader.bufferedBytes).toBeLessThanOrEqual(MAX_FETCH_HEAD_BYTES + 4);
            frame = reader.read();
            if (frame !== null) restParts.push(frame.rest);
          }
          expect(frame).not.toBeNull();
          expect(decodeFetchRequestHead(frame?.head ?? new Uint8Array(0))).toEqual(head);
          expect(bytesToHex(concatBytes(...restParts))).toBe(bytesToHex(body));
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('FetchHeadReader', () => {
  it('returns the head as a copy and the rest as a view of the completing chunk', () => {
    const reader = new FetchHeadReader();
    const chunk = hex('03000000 aabbcc dd ee');
    reader.push(chunk.subarray(0, 2));
    expect(reader.read()).toBeNull();
    expect(reader.complete).toBe(false);
    reader.push(chunk.subarray(2));
    expect(reader.complete).toBe(true);
    const frame = reader.read();
    expect(bytesToHex(frame?.head ?? new Uint8Array(0))).toBe('aabbcc');
    expect(bytesToHex(frame?.rest ?? new Uint8Array(0))).toBe('ddee');
    expect(frame?.rest.buffer).toBe(chunk.buffer);
    expect(frame?.head.buffer).not.toBe(chunk.buffer);
    // Returned once; later bytes belong to the body.
    expect(reader.read()).toBeNull();
    expect(() => reader.push(hex('00'))).toThrow(/complete/);
    expect(() => reader.end()).not.toThrow();
  });

  it('refuses a declared length over the limit as soon as the 4 length bytes are in', () => {
    for (const declared of [MAX_FETCH_HEAD_BYTES + 1, 0x10000, 0xffffffff]) {
      const reader = new FetchHeadReader();
      const prefix = new Uint8Array(4);
      new DataView(prefix.buffer).setUint32(0, declared, true);
      reader.push(prefix.subarray(0, 3));
      expect(reader.bufferedBytes).toBe(3);
      expect(codeOf(() => reader.push(prefix.subarray(3)))).toBe('ERR_FETCH_HEAD_TOO_LARGE');
    }
    const reader = new FetchHeadReader();
    // One big chunk: refused before any head byte is copied.
    expect(codeOf(() => reader.push(new Uint8Array(1 << 20).fill(0xff)))).toBe(
      'ERR_FETCH_HEAD_TOO_LARGE',
    );
    expect(reader.bufferedBytes).toBe(4);
  });

  it('accepts a declared length of exactly the limit, and a zero-length head', () => {
    const max = new FetchHeadReader();
    max.push(concatBytes(hex('00400000'), new Uint8Array(MAX_FETCH_HEAD_BYTES), hex('01')));
    const frame = max.read();
    expect(frame?.head.length).toBe(MAX_FETCH_HEAD_BYTES);
    expect(bytesToHex(frame?.rest ?? new Uint8Array(0))).toBe('01');
    expect(max.bufferedBytes).toBe(MAX_FETCH_HEAD_BYTES + 4);
    const empty = new FetchHeadReader();
    empty.push(hex('00000000'));
    expect(empty.read()?.head.length).toBe(0);
  });

  it('ignores empty chunks and reports a stream that ends inside the head', () => {
    const reader = new FetchHeadReader();
    expect(() => reader.end()).toThrow(FetchHeadError);
    reader.push(new Uint8Array(0));
    reader.push(hex('0500'));
    reader.push(new Uint8Array(0));
    reader.push(hex('0000 0102'));
    expect(reader.read()).toBeNull();
    expect(codeOf(() => reader.end())).toBe('ERR_FETCH_HEAD_TRUNCATED');
    expect(() => reader.push('x' as unknown as Uint8Array)).toThrow(TypeError);
  });
});
