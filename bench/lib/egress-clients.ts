/**
 * Clients of the egress benches: the wisp-js client (the same one against our /wisp/ and the
 * wisp-js server) and mesh's TunnelClient over a `ws` WebSocket to our /tunnel/, as
 * mesh/test/tunnel-client.test.ts uses it.
 */
import { client as wispClient, type WispJsConnection } from '@mercuryworkshop/wisp-js/client';
import { WebSocket } from 'ws';
import { TunnelClient } from '../../mesh/tunnel-client.ts';
import { originRequest } from './egress-servers.ts';

/** Bytes received so far over all streams of a transfer, and when the last ones came. */
export interface Progress {
  bytes: number;
  lastAt: number;
  finishedStreams: number;
}

export function newProgress(): Progress {
  return { bytes: 0, lastAt: performance.now(), finishedStreams: 0 };
}

export function openWispJs(url: string): Promise<WispJsConnection> {
  return new Promise((resolve, reject) => {
    const conn = new wispClient.ClientConnection(url, { wisp_version: 2 });
    conn.onopen = () => resolve(conn);
    conn.onerror = () => reject(new Error(`wisp-js client could not connect to ${url}`));
  });
}

/** One stream: asks the origin for `bytes` and resolves when they have all arrived. */
export function downloadWispJs(
  conn: WispJsConnection,
  port: number,
  bytes: number,
  progress: Progress = newProgress(),
): Promise<void> {
  return new Promise((resolve, reject) => {
    const stream = conn.create_stream('127.0.0.1', port);
    let got = 0;
    stream.onmessage = (data: Uint8Array) => {
      got += data.length;
      progress.bytes += data.length;
      progress.lastAt = performance.now();
      // The origin ends after `bytes`; the server's CLOSE then retires the stream.
      if (got >= bytes) {
        stream.onclose = () => undefined;
        progress.finishedStreams += 1;
        resolve();
      }
    };
    stream.onclose = (reason: number) =>
      reject(new Error(`wisp stream closed after ${got} of ${bytes} bytes (reason ${reason})`));
    stream.send(originRequest(bytes));
  });
}

export interface Tunnel {
  readonly client: TunnelClient;
  readonly ws: WebSocket;
}

export async function openTunnel(url: string, egressPublicKey: Uint8Array): Promise<Tunnel> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  ws.binaryType = 'nodebuffer';
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const client = new TunnelClient(
    { send: (message) => ws.send(message), close: () => ws.close() },
    { egressPublicKey },
  );
  ws.on('message', (data: Buffer) => client.receive(new Uint8Array(data)));
  ws.on('close', () => client.transportClosed());
  await client.ready;
  return { client, ws };
}

export async function downloadTunnel(
  tunnel: Tunnel,
  port: number,
  bytes: number,
  progress: Progress = newProgress(),
): Promise<void> {
  const stream = tunnel.client.openStream('127.0.0.1', port);
  const writer = stream.writable.getWriter();
  await writer.write(originRequest(bytes));
  writer.releaseLock();
  const reader = stream.readable.getReader();
  let got = 0;
  while (got < bytes) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`tunnel stream ended after ${got} of ${bytes} bytes`);
    got += value.length;
    progress.bytes += value.length;
    progress.lastAt = performance.now();
  }
  progress.finishedStreams += 1;
  await reader.cancel();
}
