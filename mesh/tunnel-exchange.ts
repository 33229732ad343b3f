/**
 * One HTTP exchange over a fetch stream (docs/protocol.md §3): the request head and body
 * up, the response head and body down, with heads as lists of pairs. It sees streams only
 * through the mux; nothing here depends on how the tunnel carries them.
 */
import {
  decodeFetchResponseHead,
  encodeFetchRequestHead,
  FetchHeadReader,
  frameFetchHead,
  type FetchResponseHead,
} from '../protocol/fetch-head.ts';
import { MeshError } from './errors.ts';
import type { StreamMux } from './stream-mux.ts';

/** An HTTP request with its head as a list of pairs (see `TunnelClient.exchange`). */
export interface HttpExchangeRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: ReadableStream<Uint8Array> | null;
}

export interface HttpExchangeResponse {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Array<[string, string]>;
  readonly body: ReadableStream<Uint8Array> | null;
}

const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/**
 * Performs `request` on a new fetch stream of `streams`. Statuses without a body come back
 * with `body: null`; a status below 200 is `ERR_FETCH_RESPONSE`.
 */
export async function exchangeOver(
  streams: StreamMux,
  request: HttpExchangeRequest,
): Promise<HttpExchangeResponse> {
  const url = new URL(request.url);
  const port = url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  const head = encodeFetchRequestHead({
    method: request.method,
    url: url.href,
    headers: request.headers.map(([name, value]): [string, string] => [name, value]),
    hasBody: request.body !== null,
  });
  const stream = streams.open('fetch', url.hostname.replace(/^\[|\]$/g, ''), port);
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  const upload = (async () => {
    await writer.write(frameFetchHead(head));
    if (request.body === null) return;
    const body = request.body.getReader();
    for (;;) {
      const { done, value } = await body.read();
      if (done) break;
      if (value.length > 0) await writer.write(value);
    }
    // One empty DATA ends the request body.
    await streams.sendEmptyData(stream.id);
  })();
  upload.catch(() => undefined);
  try {
    const { head: responseHead, rest } = await readResponseHead(reader);
    return toExchangeResponse(responseHead, rest, reader);
  } catch (err) {
    void reader.cancel().catch(() => undefined);
    throw err;
  }
}

async function readResponseHead(
  reader: ReadableStreamDefaultReader<Uint8Array>,
): Promise<{ head: FetchResponseHead; rest: Uint8Array }> {
  const heads = new FetchHeadReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) {
      heads.end();
      throw new MeshError('ERR_FETCH_RESPONSE', 'the egress ended the response before its head');
    }
    heads.push(value);
    const frame = heads.read();
    if (frame) return { head: decodeFetchResponseHead(frame.head), rest: frame.rest };
  }
}

function toExchangeResponse(
  head: FetchResponseHead,
  rest: Uint8Array,
  reader: ReadableStreamDefaultReader<Uint8Array>,
): HttpExchangeResponse {
  if (head.status < 200) {
    void reader.cancel().catch(() => undefined);
    throw new MeshError('ERR_FETCH_RESPONSE', `the egress returned status ${head.status}`);
  }
  const response = { status: head.status, statusText: head.statusText, headers: head.headers };
  if (NULL_BODY_STATUSES.has(head.status)) {
    void reader.cancel().catch(() => undefined);
    return { ...response, body: null };
  }
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      if (rest.length > 0) controller.enqueue(rest);
    },
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  return { ...response, body };
}
