import { client as wispClient, type WispJsConnection } from '@mercuryworkshop/wisp-js/client';
import { server as wispServer, logging } from '@mercuryworkshop/wisp-js/server';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectWisp, startTestEgress, type TestEgress } from './harness.ts';
import { patternBytes, startEchoOrigin, type Origin } from './origins.ts';

const MiB = 1024 * 1024;

let echo: Origin;
let egress: TestEgress;

beforeAll(async () => {
  echo = await startEchoOrigin();
  egress = await startTestEgress({ allow: [`127.0.0.1:${echo.port}`] });
});

afterAll(async () => {
  await egress.close();
  await echo.close();
});

/** One stream through wisp-js's client: send `bytes`, collect the echo, byte-exact. */
function echoThroughWispJs(conn: WispJsConnection, bytes: Uint8Array): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const stream = conn.create_stream('127.0.0.1', echo.port);
    const parts: Uint8Array[] = [];
    let got = 0;
    stream.onmessage = (data: Uint8Array) => {
      parts.push(new Uint8Array(data));
      got += data.length;
      if (got >= bytes.length) {
        stream.close(0x02);
        resolve(Buffer.concat(parts));
      }
    };
    stream.onclose = (reason: number) => reject(new Error(`stream closed early: ${reason}`));
    for (let offset = 0; offset < bytes.length; offset += 32 * 1024) {
      stream.send(bytes.subarray(offset, offset + 32 * 1024));
    }
  });
}

function openWispJs(url: string, version: 1 | 2): Promise<WispJsConnection> {
  return new Promise((resolve, reject) => {
    const conn = new wispClient.ClientConnection(url, { wisp_version: version });
    conn.onopen = () => resolve(conn);
    conn.onerror = () => reject(new Error('wisp-js connection failed'));
  });
}

describe('/wisp/ with the wisp-js client', () => {
  it('carries one 1 MiB stream byte-exact (Wisp v2 handshake)', async () => {
    const conn = await openWispJs(egress.wsUrl('wisp/'), 2);
    const bytes = patternBytes(MiB, 1);
    expect(Buffer.compare(await echoThroughWispJs(conn, bytes), bytes)).toBe(0);
    conn.close();
  });

  it('carries 50 concurrent 1 MiB streams byte-exact (Wisp v1)', async () => {
    const conn = await openWispJs(egress.wsUrl('wisp/'), 1);
    const inputs = Array.from({ length: 50 }, (_, i) => patternBytes(MiB, i + 10));
    const outputs = await Promise.all(inputs.map((bytes) => echoThroughWispJs(conn, bytes)));
    outputs.forEach((out, i) => expect(Buffer.compare(out, inputs[i]!), `stream ${i}`).toBe(0));
    conn.close();
  });
});

describe('our Wisp client against the wisp-js server', () => {
  it('opens a TCP stream and echoes bytes exactly', async () => {
    logging.set_level(logging.NONE);
    wispServer.options.allow_loopback_ips = true;
    const server = createServer((_req, res) => res.end());
    server.on('upgrade', (req, socket, head) => wispServer.routeRequest(req, socket, head));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const { ws, client } = await connectWisp(`ws://127.0.0.1:${port}/`);
      const stream = client.open('127.0.0.1', echo.port);
      const bytes = patternBytes(MiB, 99);
      await stream.send(bytes, 16 * 1024);
      expect(Buffer.compare(await stream.receivedBytes(bytes.length), bytes)).toBe(0);
      ws.close();
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
