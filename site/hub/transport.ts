/**
 * What the hub needs from the mesh: one HTTP exchange with heads as lists of pairs, so
 * that `Cookie` can be sent and `Set-Cookie` read. A page cannot put `Cookie` into a
 * `Request` or read `Set-Cookie` from a `Response` (both are forbidden names), so the
 * hub goes through `Consumer.exchange`, which carries heads as they are.
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

/** The mesh as the hub's transport: heads travel as lists of pairs, cookies included. */
export function consumerTransport(
  consumer: Pick<Consumer, 'exchange'>,
  timeoutMs = 30_000,
): Transport {
  return (request) => consumer.exchange(request, timeoutMs);
}
