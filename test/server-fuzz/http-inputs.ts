/**
 * HTTP/1.1 requests as bytes: request lines with odd methods, targets and versions; header
 * sets with duplicates, folding, huge values and every bad Content-Length / Transfer-Encoding
 * mix; bodies. Strings here are binary strings (one character per byte), so a target can carry
 * any byte, including ones that are not UTF-8.
 */
import type { FuzzPools } from '../../protocol/test/fuzz-inputs.ts';
import { textFor } from '../../protocol/test/fuzz-inputs.ts';
import type { ServerSurface } from './processes.ts';
import {
  chance,
  mutate,
  pick,
  randomInt,
  randomString,
  subSeed,
  weighted,
  type Rand,
} from './random.ts';

/** The bytes of a binary string. */
export function binary(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}

/** UTF-8 bytes of `text` as a binary string. */
export function utf8(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

/** Targets people have broken servers with, plus the ones that broke ours. */
export const ODD_TARGETS: readonly string[] = [
  '//[',
  '//%',
  '//a:b',
  'http://[',
  'http://a:b@[::1',
  '*',
  '',
  '/%',
  '/%zz',
  '/%00',
  '/%00/../',
  '/..',
  '/../../../../etc/passwd',
  '/%2e%2e/%2e%2e/etc/passwd',
  '/..%2f..%2fetc%2fpasswd',
  '/..\\..\\',
  '/%5c..%5c',
  '/.hidden',
  '/%2ehidden',
  '//',
  '///',
  '//[::1]',
  '//[::1',
  '//@',
  '//a@b@c',
  '//:99999',
  '//%5B',
  '?',
  '#',
  '/?',
  '/#',
  '/?#',
  '/a?b#c',
  '/%C0%AE%C0%AE/',
  '/%ff',
  '/%F0%9F%92%A9',
  `/${utf8('é')}`,
  '/\xe9\xff\x80',
  '/\x7f',
  '/\x01',
  'http://x',
  'http://127.0.0.1:1/',
  'http://:0/',
  'http://%/',
  'http://[::1]:99999/',
  'http://a b/',
  'https://user:pass@127.0.0.1/metrics',
  'x:',
  'a:b',
  'mailto:x',
  'file:///etc/passwd',
  'javascript:alert(1)',
  'ws://127.0.0.1/wisp/',
  '127.0.0.1:80',
  'localhost:443',
  '[::1]:80',
  '[::1',
  ':',
  '@',
  '\\',
  '%',
  '.',
  '..',
  '/peerjs?key=peerjs&id=a&token=b',
  '/?key=%',
  '/peerjs?%',
  '/peerjs?key=peerjs&id=%zz&token=x',
  '/peerjs?key&id&token',
  '/peerjs?key=peerjs&key=peerjs&id=a&id=b&token=c',
  '/peerjs?key=peerjs&id=a%00&token=b',
  '/peerjs?key=peerjs&id=%F0%9F%92%A9&token=%F0%9F%92%A9',
];

/** Every path the servers have, relative to what `surface` mounts. */
export function knownPaths(surface: ServerSurface): string[] {
  const paths = ['/', '/metrics', '/favicon.ico', '/nothing'];
  const base = surface.signalPath;
  if (base !== undefined) {
    paths.push(
      base,
      ...(base.length > 1 ? [base.slice(0, -1)] : []),
      `${base}peerjs`,
      `${base}peerjs/`,
      `${base}peerjs/id`,
      `${base}peerjs/peers`,
      `${base}PEERJS/id`,
      `${base}wrong-key/id`,
      `${base}peerjs/id/`,
      `${base}peerjs//id`,
      `${base}/peerjs/id`,
      `${base}v1/config`,
      `${base}v1/netstate`,
      `${base}v1/volunteer/poll`,
      `${base}v1/consumer/match`,
      `${base}v1/`,
      `${base}v1/nothing`,
      `${base}metrics`,
      `${base}id`,
    );
  }
  if (surface.egress) {
    paths.push('/wisp/', '/wisp', '/wisp//', '/tunnel/', '/tunnel', '/tunnel/x', '/metrics/');
  }
  if (surface.site) {
    paths.push(
      '/index.html',
      '/browse',
      '/browse/',
      '/browse/index.html',
      '/app.js',
      '/.hidden',
      '/.well-known/security.txt',
      '/.well-known/',
    );
  }
  return paths;
}

/** The WebSocket endpoints of `surface`. */
export function socketPaths(surface: ServerSurface): string[] {
  const paths: string[] = [];
  if (surface.signalPath !== undefined) paths.push(`${surface.signalPath}peerjs`);
  if (surface.egress) paths.push('/wisp/', '/tunnel/');
  return paths;
}

const ID_POOL = ['fuzz-a', 'fuzz-b', 'fuzz-c', 'fuzz-d', 'fuzz_e', 'f', 'A1'];
const PRINTABLE =
  'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&\'()*+,;=:@/?%#[]"<>\\^`{|}';
const ANY_BYTE = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join('');

function queryValue(rand: Rand): string {
  return weighted<() => string>(rand, [
    [3, () => 'peerjs'],
    [3, () => pick(rand, ID_POOL)],
    [2, () => randomString(rand, PRINTABLE, 12)],
    [1, () => ''],
    [1, () => pick(rand, ['%', '%zz', '%00', '%C0%AE', '%F0%9F%92%A9', '+', '%2B', '\xe9', '%ff'])],
    [1, () => 'x'.repeat(pick(rand, [65, 129, 1000, 9000]))],
    [1, () => randomString(rand, ANY_BYTE, 8)],
  ])();
}

/** A query string around key, id and token, with duplicates, gaps and junk. */
export function query(rand: Rand): string {
  const names = ['key', 'id', 'token', 'key', 'id', 'token', 'x', '', 'KEY', '__proto__'];
  const parts: string[] = [];
  const count = randomInt(rand, 6);
  for (let i = 0; i < count; i++) {
    const name = pick(rand, names);
    parts.push(chance(rand, 0.1) ? name : `${name}=${queryValue(rand)}`);
  }
  return parts.join(chance(rand, 0.9) ? '&' : pick(rand, [';', '&&', '']));
}

const AUTHORITIES = ['127.0.0.1', 'localhost:1', '[', 'a:b@[::1', '[::1]:99999', 'x@y@z', '%', ''];
const JUNK = [
  '%',
  '%00',
  '..',
  '/..',
  '\\',
  '//',
  '[',
  ']',
  '@',
  ':',
  '\x00',
  '\xff',
  '\r',
  ' ',
  '\t',
];

/** A request target: a known path dressed up, an odd target, or bytes. */
export function target(rand: Rand, paths: readonly string[]): string {
  const path = pick(rand, paths);
  return weighted<() => string>(rand, [
    [8, () => path],
    [6, () => `${path}?${query(rand)}`],
    [3, () => pick(rand, ODD_TARGETS)],
    [1, () => `${path}#${randomString(rand, PRINTABLE, 6)}`],
    [1, () => `/${path}`],
    [1, () => `http://${pick(rand, AUTHORITIES)}${path}`],
    [1, () => `${pick(rand, ODD_TARGETS)}${path}`],
    [2, () => insert(rand, path, pick(rand, JUNK))],
    [1, () => `${path}${'a'.repeat(pick(rand, [1000, 8000, 17_000, 70_000]))}`],
    [1, () => Buffer.from(mutate(rand, binary(path))).toString('latin1')],
    [1, () => `${path}${randomString(rand, PRINTABLE, 16)}`],
    [1, () => randomString(rand, ANY_BYTE, 16)],
  ])();
}

function insert(rand: Rand, text: string, piece: string): string {
  const at = randomInt(rand, text.length + 1);
  return text.slice(0, at) + piece + text.slice(at);
}

/** Methods llhttp accepts (so the request reaches our code), and some it does not. */
const METHODS = [
  'GET',
  'POST',
  'HEAD',
  'OPTIONS',
  'PUT',
  'DELETE',
  'PATCH',
  'CONNECT',
  'TRACE',
  'SEARCH',
  'PROPFIND',
];
const BAD_METHODS = ['get', 'Get', '', 'G\x00T', 'GET\t', '\xe9', 'PRI', 'M-SEARCH'];

function method(rand: Rand): string {
  return weighted<() => string>(rand, [
    [10, () => 'GET'],
    [4, () => 'POST'],
    [6, () => pick(rand, METHODS)],
    [1, () => pick(rand, BAD_METHODS)],
    [1, () => randomString(rand, ANY_BYTE, 8)],
  ])();
}
const VERSIONS = [
  'HTTP/1.1',
  'HTTP/1.0',
  'HTTP/2.0',
  'HTTP/0.9',
  'HTTP/1.2',
  'HTTP/11',
  'http/1.1',
  '',
];

const HEADER_VALUES: Readonly<Record<string, readonly string[]>> = {
  Host: ['127.0.0.1', '', '[', 'a:b:c', '127.0.0.1:0', 'x'.repeat(9000), '\xe9'],
  'Content-Length': [
    '0',
    '5',
    '-1',
    '1e3',
    '0x10',
    ' 5',
    '5, 6',
    '5,5',
    '99999999999999999999',
    '18446744073709551616',
    '',
    'abc',
    '100000',
    '65537',
  ],
  'Transfer-Encoding': [
    'chunked',
    'gzip, chunked',
    'chunked, gzip',
    'identity',
    'xchunked',
    'chunked\t',
    'CHUNKED',
    '',
  ],
  Connection: ['close', 'keep-alive', 'Upgrade', 'upgrade, close', 'keep-alive, Upgrade', ''],
  Upgrade: ['websocket', 'WebSocket', 'h2c', 'websocket, h2c', '', 'websocket\x00'],
  'Sec-WebSocket-Key': ['dGhlIHNhbXBsZSBub25jZQ==', '', 'x', '====', 'AAAAAAAAAAAAAAAAAAAAAA=!'],
  'Sec-WebSocket-Version': ['13', '8', '', '13, 8', '0x0d', '14'],
  'Sec-WebSocket-Protocol': ['wisp-v2', '', ',', 'a,,b', 'wisp-v2, wisp-v2', 'wisp-v2, x', '\xe9'],
  'Sec-WebSocket-Extensions': [
    'permessage-deflate',
    'permessage-deflate; client_max_window_bits',
    'permessage-deflate; server_max_window_bits=7',
    'permessage-deflate; server_max_window_bits=99',
    'x; y=',
    ';;',
  ],
  Origin: ['null', 'http://evil.example', '', 'http://[', 'x'.repeat(5000), 'http://127.0.0.1'],
  Expect: ['100-continue', 'x'],
  'Content-Type': ['application/json', 'text/plain', '', 'application/json; charset=utf-7'],
  'X-Forwarded-For': ['1.2.3.4', '::1', 'garbage', ''],
  'Accept-Encoding': ['gzip', 'br, gzip, deflate', '*'],
  Range: ['bytes=0-1', 'bytes=-1', 'bytes=9999999999-', 'bytes=1-0', 'x'],
  'If-None-Match': ['*', '"x"'],
  'If-Modified-Since': ['Thu, 01 Jan 1970 00:00:00 GMT', 'yesterday'],
  Cookie: ['a=b', '=', ';'],
  Authorization: ['Basic Og==', 'Bearer x'],
};
const HEADER_NAMES = Object.keys(HEADER_VALUES);

/** Header lines that are not `Name: value` at all. */
const BROKEN_HEADER_LINES = [
  'NoColon',
  ': empty-name',
  'Host : spaced',
  'Bad Name: x',
  'X\x00: y',
  'X-Fold: a\r\n b',
  'X-Fold: a\r\n\tb\r\n c',
  ' leading-space: x',
  'X-Bare-Lf: a\nX-After: b',
  'X-Cr: a\rb',
  `X-Utf8: ${utf8('ünïcödé')}`,
];

function headerValue(rand: Rand, name: string): string {
  const values = HEADER_VALUES[name] ?? [''];
  return chance(rand, 0.95) ? pick(rand, values) : randomString(rand, ANY_BYTE, 12);
}

/** Extra headers: from the menu, random, broken, huge or many. */
export function headers(rand: Rand): string[] {
  const lines: string[] = [];
  const count = randomInt(rand, 6);
  for (let i = 0; i < count; i++) {
    lines.push(
      weighted<() => string>(rand, [
        [
          30,
          () => {
            const name = pick(rand, HEADER_NAMES);
            return `${name}: ${headerValue(rand, name)}`;
          },
        ],
        [1, () => pick(rand, BROKEN_HEADER_LINES)],
        [
          2,
          () =>
            `${randomString(rand, 'abcXYZ-_!#~', 8) || 'X'}: ${randomString(rand, PRINTABLE, 20)}`,
        ],
        [
          1,
          () =>
            `${randomString(rand, 'abcXYZ-_!#~', 8) || 'X'}: ${randomString(rand, ANY_BYTE, 20)}`,
        ],
        [1, () => `X-Big: ${'a'.repeat(pick(rand, [8000, 17_000, 70_000]))}`],
        [
          1,
          () =>
            Array.from({ length: pick(rand, [100, 2100]) }, (_, n) => `X-${n}: ${n}`).join('\r\n'),
        ],
      ])(),
    );
  }
  return lines;
}

/** A chunked body, well formed or not. */
function chunkedBody(rand: Rand): string {
  const chunks = Array.from({ length: randomInt(rand, 4) }, () => randomString(rand, ANY_BYTE, 20));
  const good = chunks.map((chunk) => `${chunk.length.toString(16)}\r\n${chunk}\r\n`).join('');
  return weighted(rand, [
    [3, `${good}0\r\n\r\n`],
    [1, `${good}0\r\nX-Trailer: 1\r\n\r\n`],
    [1, `${good}zz\r\nabc\r\n0\r\n\r\n`],
    [1, `${good}ffffffffffffffff\r\nabc`],
    [1, `${good}5;ext=1\r\nabcde\r\n0\r\n\r\n`],
    [1, `${good}5\r\nabcdefgh\r\n`],
    [1, `${good}-1\r\n`],
    [1, good],
  ]);
}

/** A body: none, JSON-ish text for the matchmaking routes, bytes, or a chunked body. */
export function body(rand: Rand, pools: FuzzPools): string {
  return weighted<() => string>(rand, [
    [4, () => ''],
    [4, () => utf8(textFor(pools, subSeed(rand)))],
    [1, () => randomString(rand, ANY_BYTE, 64)],
    [1, () => chunkedBody(rand)],
  ])();
}

export interface RequestParts {
  readonly method: string;
  readonly target: string;
  readonly version: string;
  /** Complete header lines, without line ends. */
  readonly headers: readonly string[];
  readonly body: string;
}

/** A request line, header lines, a blank line and a body; line ends are usually CRLF. */
export function requestBytes(rand: Rand, parts: RequestParts): string {
  const eol = weighted(rand, [
    [20, '\r\n'],
    [1, '\n'],
    [1, '\r'],
  ]);
  const space = weighted(rand, [
    [100, ' '],
    [1, '  '],
    [1, '\t'],
  ]);
  const line = [parts.method, parts.target, parts.version].join(space);
  return [line, ...parts.headers].join(eol) + eol + eol + parts.body;
}

/** Any request: a line from the menus, Host most of the time, extra headers, a body. */
export function randomRequest(rand: Rand, surface: ServerSurface, pools: FuzzPools): string {
  const verb = method(rand);
  const requestBody = verb === 'POST' || chance(rand, 0.2) ? body(rand, pools) : '';
  const lines = chance(rand, 0.85) ? ['Host: 127.0.0.1'] : [];
  if (chance(rand, 0.1)) lines.push('Host: 127.0.0.1');
  lines.push(...headers(rand));
  if (
    requestBody !== '' &&
    !lines.some((header) => /^(content-length|transfer-encoding):/i.test(header))
  ) {
    lines.push(`Content-Length: ${requestBody.length}`);
  }
  return requestBytes(rand, {
    method: verb,
    target: target(rand, knownPaths(surface)),
    version: chance(rand, 0.9) ? 'HTTP/1.1' : pick(rand, VERSIONS),
    headers: lines,
    body: requestBody,
  });
}

/** A Sec-WebSocket-Key: 16 random bytes in base64. */
export function socketKey(rand: Rand): string {
  return Buffer.from(Array.from({ length: 16 }, () => randomInt(rand, 256))).toString('base64');
}

/** The four headers of an upgrade, each possibly damaged or left out, and a few more. */
export function upgradeHeaders(rand: Rand, extra: readonly string[] = []): string[] {
  const damage = (line: string, name: string): string[] => {
    if (!chance(rand, 0.1)) return [line];
    return weighted(rand, [
      [1, []],
      [2, [`${name}: ${headerValue(rand, name)}`]],
      [1, [line, line]],
    ]);
  };
  return [
    ...(chance(rand, 0.95) ? ['Host: 127.0.0.1'] : []),
    ...damage('Upgrade: websocket', 'Upgrade'),
    ...damage('Connection: Upgrade', 'Connection'),
    ...damage(`Sec-WebSocket-Key: ${socketKey(rand)}`, 'Sec-WebSocket-Key'),
    ...damage('Sec-WebSocket-Version: 13', 'Sec-WebSocket-Version'),
    ...extra,
    ...(chance(rand, 0.2) ? headers(rand) : []),
  ];
}

/** An upgrade request to `path` (a target already), mostly well formed. */
export function upgradeRequest(
  rand: Rand,
  requestTarget: string,
  extra: readonly string[] = [],
): string {
  return requestBytes(rand, {
    method: chance(rand, 0.95) ? 'GET' : method(rand),
    target: requestTarget,
    version: chance(rand, 0.95) ? 'HTTP/1.1' : pick(rand, VERSIONS),
    headers: upgradeHeaders(rand, extra),
    body: '',
  });
}

/** A clean upgrade request, for the sessions that must get past the handshake. */
export function cleanUpgrade(
  requestTarget: string,
  key: string,
  extra: readonly string[] = [],
): string {
  return [
    `GET ${requestTarget} HTTP/1.1`,
    'Host: 127.0.0.1',
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${key}`,
    'Sec-WebSocket-Version: 13',
    ...extra,
    '',
    '',
  ].join('\r\n');
}

/** A target for an upgrade: a socket path with a query, any known path, or an odd target. */
export function upgradeTarget(rand: Rand, surface: ServerSurface): string {
  const sockets = socketPaths(surface);
  return weighted<() => string>(rand, [
    [4, () => `${pick(rand, sockets)}?${query(rand)}`],
    [2, () => pick(rand, sockets)],
    [3, () => target(rand, [...sockets, ...knownPaths(surface)])],
    [1, () => pick(rand, ODD_TARGETS)],
  ])();
}
