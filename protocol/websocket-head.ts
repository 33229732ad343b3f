/**
 * Heads of `websocket` streams (stream type 0x81). They are fetch-stream heads
 * (`fetch-head.ts`), framed the same way, with rules of their own: the request is `GET` without
 * a body and names the WebSocket URL in its http(s) form; the response is status 101 when the
 * origin accepted the upgrade, or the origin's refusal (any other status) followed by CLOSE.
 */

import { decodeFetchRequestHead, encodeFetchRequestHead } from './fetch-head.ts';
import type { FetchRequestHead } from './fetch-head.ts';
import { FetchHeadError } from './errors.ts';

/** The status of an accepted upgrade. */
export const WEBSOCKET_UPGRADE_STATUS = 101;

/** Where a WebSocket URL goes: the CONNECT's host and port, and the request head's URL. */
export interface WebSocketTarget {
  /** The URL's host without IPv6 brackets, as the CONNECT names it. */
  readonly host: string;
  /** The URL's port, or 80 (`ws:`) / 443 (`wss:`). */
  readonly port: number;
  /** The URL with `ws:` as `http:` and `wss:` as `https:`, for the request head. */
  readonly httpUrl: string;
  /** The URL as a `ws:` or `wss:` URL. */
  readonly wsUrl: string;
}

/**
 * Maps a `ws:` or `wss:` URL (or `http:`/`https:`, which the DOM's WebSocket accepts as the
 * same) to its target. Throws a `TypeError` for anything else, for credentials and for a
 * fragment, which a WebSocket URL cannot have.
 */
export function webSocketTarget(url: string): WebSocketTarget {
  if (typeof url !== 'string') throw new TypeError(`url: expected a string, got ${typeof url}`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`url: not a URL: ${JSON.stringify(url.slice(0, 64))}`);
  }
  const secure = parsed.protocol === 'wss:' || parsed.protocol === 'https:';
  if (!secure && parsed.protocol !== 'ws:' && parsed.protocol !== 'http:') {
    throw new TypeError(`url: expected a ws: or wss: URL, got ${parsed.protocol}`);
  }
  if (parsed.hash !== '' || url.includes('#')) {
    throw new TypeError('url: a WebSocket URL has no fragment');
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw new TypeError('url: a WebSocket URL has no credentials');
  }
  const rest = parsed.href.slice(parsed.protocol.length);
  const port = parsed.port !== '' ? Number(parsed.port) : secure ? 443 : 80;
  return {
    host: parsed.hostname.replace(/^\[|\]$/g, ''),
    port,
    httpUrl: (secure ? 'https:' : 'http:') + rest,
    wsUrl: (secure ? 'wss:' : 'ws:') + rest,
  };
}

/** Encodes the request head (without the length prefix): GET, no body, the http(s) URL. */
export function encodeWebSocketRequestHead(
  target: WebSocketTarget,
  headers: Array<[string, string]>,
): Uint8Array {
  return encodeFetchRequestHead({ method: 'GET', url: target.httpUrl, headers, hasBody: false });
}

/**
 * Decodes a request head and checks the websocket rules: method exactly `GET` and no body flag
 * (`ERR_FETCH_HEAD_INVALID` otherwise).
 */
export function decodeWebSocketRequestHead(bytes: Uint8Array): FetchRequestHead {
  const head = decodeFetchRequestHead(bytes);
  if (head.method !== 'GET' || head.hasBody) {
    throw new FetchHeadError(
      'ERR_FETCH_HEAD_INVALID',
      'a websocket request is a GET without a body',
    );
  }
  return head;
}
