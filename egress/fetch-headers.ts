/**
 * Header rules of fetch streams. Hop-by-hop headers describe one connection and never cross
 * the egress; response bodies are decoded here because a service worker cannot hand encoded
 * bytes to a page, so the encoding headers go too.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { createBrotliDecompress, createGunzip, createInflate, constants } from 'node:zlib';
import type { Transform } from 'node:stream';
import { encodeFetchResponseHead } from '../protocol/fetch-head.ts';
import { MAX_FETCH_HEADERS } from '../protocol/limits.ts';

/** Hop-by-hop fields (RFC 9110 §7.6.1) and proxies' own: never forwarded to an origin. */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Request headers we set ourselves: the URL's host, and what we can decode. */
const SET_BY_EGRESS = new Set(['host', 'expect', 'accept-encoding']);

export const ACCEPT_ENCODING = 'gzip, deflate, br';

/** Names a `Connection` header lists: hop-by-hop for this message only. */
export function connectionListed(values: readonly string[]): Set<string> {
  const names = new Set<string>();
  for (const value of values) {
    for (const name of value.split(',')) names.add(name.trim().toLowerCase());
  }
  return names;
}

/** The request headers to send upstream, as undici's flat `[name, value, …]` list. */
export function upstreamRequestHeaders(
  headers: ReadonlyArray<readonly [string, string]>,
): string[] {
  const listed = connectionListed(
    headers.filter(([name]) => name.toLowerCase() === 'connection').map(([, v]) => v),
  );
  const out: string[] = [];
  for (const [name, value] of headers) {
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || SET_BY_EGRESS.has(lower) || listed.has(lower)) continue;
    out.push(name, value);
  }
  out.push('accept-encoding', ACCEPT_ENCODING);
  return out;
}

/** Node's header object as a list of pairs, repeated values kept. */
export function headerList(headers: IncomingHttpHeaders): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) out.push([name, v]);
  }
  return out;
}

/** A decoder for one `content-encoding`, or `undefined` when we cannot decode it. */
function decoderFor(encoding: string): (() => Transform) | undefined {
  // Like browsers: a body cut short still yields what arrived.
  const lenient = { finishFlush: constants.Z_SYNC_FLUSH };
  switch (encoding) {
    case 'gzip':
    case 'x-gzip':
      return () => createGunzip(lenient);
    case 'deflate':
      return () => createInflate(lenient);
    case 'br':
      return () => createBrotliDecompress({ finishFlush: constants.BROTLI_OPERATION_FLUSH });
    default:
      return undefined;
  }
}

export interface ResponseShape {
  /** Headers to return to the client, in a valid, encodable head. */
  readonly headers: Array<[string, string]>;
  /** Set when the body must be decoded on the way. */
  readonly decoder: (() => Transform) | undefined;
}

/** True when a response head can carry this header. */
export function encodable(name: string, value: string): boolean {
  try {
    encodeFetchResponseHead({ status: 200, statusText: '', headers: [[name, value]] });
    return true;
  } catch {
    return false;
  }
}

/**
 * Filters upstream response headers: hop-by-hop out, and when the body is decoded, the
 * encoding and the (now wrong) length out too. Headers a head cannot carry are dropped.
 */
export function shapeResponse(headers: IncomingHttpHeaders): ResponseShape {
  const list = headerList(headers);
  const listed = connectionListed(list.filter(([n]) => n === 'connection').map(([, v]) => v));
  const encodings = list
    .filter(([n]) => n === 'content-encoding')
    .flatMap(([, v]) => v.split(','))
    .map((e) => e.trim().toLowerCase())
    .filter((e) => e !== '' && e !== 'identity');
  const [only] = encodings;
  const decoder = encodings.length === 1 && only !== undefined ? decoderFor(only) : undefined;
  const out: Array<[string, string]> = [];
  for (const [name, value] of list) {
    if (HOP_BY_HOP.has(name) || listed.has(name)) continue;
    if (decoder !== undefined && (name === 'content-encoding' || name === 'content-length')) {
      continue;
    }
    if (out.length >= MAX_FETCH_HEADERS || !encodable(name, value)) continue;
    out.push([name, value]);
  }
  return { headers: out, decoder };
}
