/**
 * What the hub needs from the mesh: one HTTP exchange with heads as lists of pairs, so
 * that `Cookie` can be sent and `Set-Cookie` read. A page cannot put `Cookie` into a
 * `Request` or read `Set-Cookie` from a `Response` (both are forbidden names), so the
 * adapter over `Consumer.fetch(Request)` loses cookies in the browser; a raw-head fetch
 * in mesh (see the note in docs/architecture.md) removes that limit.
 */
import type { Consumer } from '../../mesh/consumer.ts';

export type HeaderList = Array<[string, string]>;

export interface RawRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: HeaderList;
  readonly body: ReadableStream<Uint8Array> | null;
}

export interface RawResponse {
  readonly status: number;
  readonly statusText: string;
  readonly headers: HeaderList;
  readonly body: ReadableStream<Uint8Array> | null;
}

export type Transport = (request: RawRequest) => Promise<RawResponse>;

/** Headers a page may not set on a Request; the adapter leaves them out. */
export function consumerTransport(
  consumer: Pick<Consumer, 'fetch'>,
  timeoutMs = 30_000,
): Transport {
  return async (request) => {
    const init: RequestInit & { duplex?: 'half' } = {
      method: request.method,
      headers: request.headers,
      redirect: 'manual',
    };
    if (request.body !== null) {
      init.body = request.body;
      init.duplex = 'half';
    }
    const response = await consumer.fetch(new Request(request.url, init), timeoutMs);
    return {
      status: response.status,
      statusText: response.statusText,
      headers: [...response.headers],
      body: response.body,
    };
  };
}
