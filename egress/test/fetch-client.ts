/** Fetch streams (type 0x80) from the test client's side. */
import {
  decodeFetchResponseHead,
  encodeFetchRequestHead,
  FetchHeadReader,
  frameFetchHead,
  type FetchResponseHead,
} from '../../protocol/fetch-head.ts';
import type { TestWispClient } from './wisp-client.ts';

export interface FetchResult {
  readonly head: FetchResponseHead | null;
  readonly body: Uint8Array;
  readonly reason: number;
}

export async function fetchThrough(
  client: TestWispClient,
  request: { method?: string; url: string; headers?: Array<[string, string]>; body?: Uint8Array },
  target?: { host: string; port: number },
): Promise<FetchResult> {
  const url = new URL(request.url);
  const host = target?.host ?? url.hostname;
  const port = target?.port ?? Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const stream = client.open(host, port, 'fetch');
  const head = encodeFetchRequestHead({
    method: request.method ?? 'GET',
    url: request.url,
    headers: request.headers ?? [],
    hasBody: request.body !== undefined,
  });
  await stream.send(frameFetchHead(head));
  if (request.body !== undefined) {
    await stream.send(request.body);
    await stream.send(new Uint8Array(0));
  }
  const { bytes, reason } = await stream.readAll();
  const reader = new FetchHeadReader();
  if (bytes.length > 0) reader.push(bytes);
  const frame = reader.read();
  if (frame === null) return { head: null, body: new Uint8Array(0), reason };
  return { head: decodeFetchResponseHead(frame.head), body: frame.rest, reason };
}

export function header(head: FetchResponseHead | null, name: string): string[] {
  return (head?.headers ?? []).filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);
}
