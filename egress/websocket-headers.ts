/**
 * Header rules of websocket streams. The egress speaks the handshake itself, so the headers that
 * make up the handshake (key, version, extensions, accept) are ours, not the client's; the
 * subprotocols the client offers become the list we offer; hop-by-hop headers never cross.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { MAX_FETCH_HEADERS } from '../protocol/limits.ts';
import { connectionListed, encodable, headerList, HOP_BY_HOP } from './fetch-headers.ts';

const PROTOCOL_HEADER = 'sec-websocket-protocol';

/** Request headers the handshake sets, or that make no sense without a body. */
const SET_BY_EGRESS: ReadonlySet<string> = new Set([
  'host',
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-extensions',
  'sec-websocket-accept',
  PROTOCOL_HEADER,
  'content-length',
  'expect',
]);

/** Response headers about the egress's own connection to the origin, or about a body we drop. */
const RESPONSE_DROPPED: ReadonlySet<string> = new Set([
  'sec-websocket-accept',
  'sec-websocket-extensions',
  'content-length',
  'content-encoding',
]);

export interface UpstreamHandshake {
  /** Headers for `ws`'s client, one value per name (repeats joined as HTTP allows). */
  readonly headers: Record<string, string>;
  /** The subprotocols the client offered, in order. */
  readonly protocols: string[];
}

/** What the egress sends the origin, from the client's request head. */
export function upstreamHandshake(
  headers: ReadonlyArray<readonly [string, string]>,
): UpstreamHandshake {
  const listed = connectionListed(
    headers.filter(([name]) => name.toLowerCase() === 'connection').map(([, v]) => v),
  );
  const out: Record<string, string> = {};
  const protocols: string[] = [];
  for (const [name, value] of headers) {
    const lower = name.toLowerCase();
    if (lower === PROTOCOL_HEADER) {
      for (const protocol of value.split(',')) {
        const trimmed = protocol.trim();
        if (trimmed !== '') protocols.push(trimmed);
      }
      continue;
    }
    if (HOP_BY_HOP.has(lower) || SET_BY_EGRESS.has(lower) || listed.has(lower)) continue;
    const previous = out[lower];
    // Cookie pairs are joined with "; " (RFC 6265 §5.4); other repeated fields with ", ".
    out[lower] =
      previous === undefined ? value : `${previous}${lower === 'cookie' ? '; ' : ', '}${value}`;
  }
  return { headers: out, protocols };
}

/** The origin's response headers that go back to the client, in a head that can carry them. */
export function clientResponseHeaders(headers: IncomingHttpHeaders): Array<[string, string]> {
  const list = headerList(headers);
  const listed = connectionListed(list.filter(([n]) => n === 'connection').map(([, v]) => v));
  const out: Array<[string, string]> = [];
  for (const [name, value] of list) {
    if (HOP_BY_HOP.has(name) || RESPONSE_DROPPED.has(name) || listed.has(name)) continue;
    if (out.length >= MAX_FETCH_HEADERS || !encodable(name, value)) continue;
    out.push([name, value]);
  }
  return out;
}
