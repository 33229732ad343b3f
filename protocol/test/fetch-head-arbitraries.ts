/** fast-check arbitraries for fetch request and response heads, shared by unit and fuzz tests. */
import fc from 'fast-check';
import type { FetchRequestHead, FetchResponseHead } from '../fetch-head.ts';

const TOKEN_CHARS = [
  ..."!#$%&'*+-.^_`|~",
  ...'0123456789',
  ...'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
  ...'abcdefghijklmnopqrstuvwxyz',
];

/** HTAB, SP, VCHAR and obs-text (0x80–0xFF) as one-byte characters. */
const TEXT_CHARS = [
  '\t',
  ...Array.from({ length: 0x7e - 0x20 + 1 }, (_, i) => String.fromCharCode(0x20 + i)),
  ...Array.from({ length: 0x80 }, (_, i) => String.fromCharCode(0x80 + i)),
];

export const token = (maxLength: number): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(...TOKEN_CHARS), minLength: 1, maxLength });

export const text = (maxLength: number): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(...TEXT_CHARS), maxLength });

export const method: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'get', 'M-SEARCH'),
  token(32),
);

// Checked independently of the codec: printable ASCII, http(s), parseable, no credentials.
function usableUrl(url: string): boolean {
  if (!/^https?:\/\/[\x21-\x7e]*$/.test(url) || url.includes('#') || url.length > 8192) {
    return false;
  }
  try {
    const parsed = new URL(url);
    return parsed.username === '' && parsed.password === '';
  } catch {
    return false;
  }
}

export const url: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    'http://example.com/',
    'https://example.com',
    'http://127.0.0.1:8080/a/b?c=d&e=%20',
    'https://[::1]:443/',
    'https://xn--bcher-kva.example/%C3%BC',
  ),
  fc.webUrl({ validSchemes: ['http', 'https'], withQueryParameters: true }).filter(usableUrl),
);

export const headers: fc.Arbitrary<Array<[string, string]>> = fc.array(
  fc.tuple(token(24), text(64)),
  { maxLength: 24 },
);

export const requestHead: fc.Arbitrary<FetchRequestHead> = fc.record({
  method,
  url,
  headers,
  hasBody: fc.boolean(),
});

export const responseHead: fc.Arbitrary<FetchResponseHead> = fc.record({
  status: fc.integer({ min: 100, max: 599 }),
  statusText: fc.oneof(fc.constantFrom('', 'OK', 'Not Found'), text(80)),
  headers,
});
