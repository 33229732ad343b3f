/**
 * Websocket streams (type 0x81) at the wire level: our test Wisp client in the tunnel speaks the
 * stream's heads and frames byte by byte against the real egress and a real `ws` origin.
 */
import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { concatBytes } from '../../protocol/bytes.ts';
import {
  decodeFetchResponseHead,
  encodeFetchRequestHead,
  FetchHeadReader,
  frameFetchHead,
  type FetchResponseHead,
} from '../../protocol/fetch-head.ts';
import {
  encodeWebSocketFrame,
  encodeWebSocketFrameHeader,
  WebSocketFrameReader,
  type WebSocketFrame,
} from '../../protocol/websocket-frame.ts';
import { WISP_CLOSE_REASONS } from '../../protocol/wisp-types.ts';
import { waitFor } from '../../test/wait-for.ts';
import {
  connectTunnel,
  connectWisp,
  countOf,
  startTestEgress,
  type TestEgress,
  type TunnelConnection,
} from './harness.ts';
import { selfSignedCertificate } from './tls-certificate.ts';
import { startWebSocketOrigin, type WebSocketOrigin } from './websocket-origins.ts';
import type { TestStream } from './wisp-client.ts';

const MiB = 1024 * 1024;
const text = (s: string): WebSocketFrame => ({
  type: 'text',
  payload: new TextEncoder().encode(s),
});

let origin: WebSocketOrigin;
let egress: TestEgress;
/** A TCP server that accepts and never answers: a handshake that never completes. */
let silent: Server;
let silentPort: number;
/** A port nothing listens on. */
let closedPort: number;

function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

beforeAll(async () => {
  origin = await startWebSocketOrigin();
  silent = createServer((socket) => socket.on('error', () => undefined));
  silentPort = await listen(silent);
  const probe = createServer();
  closedPort = await listen(probe);
  await new Promise((resolve) => probe.close(resolve));
  egress = await startTestEgress({
    allow: [`127.0.0.1:${origin.port}`, `127.0.0.1:${silentPort}`, `127.0.0.1:${closedPort}`],
    limits: { connectTimeoutMs: 500 },
  });
});

afterAll(async () => {
  await egress.close();
  await origin.close();
  silent.close();
});

function requestHead(url: string, method = 'GET', hasBody = false): Uint8Array {
  return frameFetchHead(encodeFetchRequestHead({ method, url, headers: [], hasBody }));
}

/** Opens a websocket stream and sends `bytes` (head and frames) in packets of `packetSize`. */
async function open(
  conn: TunnelConnection,
  bytes: Uint8Array,
  port = origin.port,
  packetSize?: number,
): Promise<TestStream> {
  const stream = conn.client.open('127.0.0.1', port, 'websocket');
  await stream.send(bytes, packetSize);
  return stream;
}

/** Parses what arrived so far: the response head and the frames after it. */
function parse(stream: TestStream): { head: FetchResponseHead | null; frames: WebSocketFrame[] } {
  const heads = new FetchHeadReader();
  heads.push(Buffer.concat(stream.chunks));
  const frame = heads.read();
  if (frame === null) return { head: null, frames: [] };
  return {
    head: decodeFetchResponseHead(frame.head),
    frames: new WebSocketFrameReader().push(frame.rest),
  };
}

async function tunnel(): Promise<TunnelConnection> {
  return connectTunnel(egress.wsUrl('tunnel/'), egress.key.publicKey, { downlinkWindow: 64 });
}

describe('websocket streams on the wire', () => {
  it('takes a head and frames split into 1-byte packets, and frames sent before the 101', async () => {
    const conn = await tunnel();
    const url = `http://127.0.0.1:${origin.port}/echo`;
    const bytes = concatBytes(
      requestHead(url),
      encodeWebSocketFrame(text('early')),
      encodeWebSocketFrame({ type: 'binary', payload: new Uint8Array([1, 2, 3]) }),
      encodeWebSocketFrame({ type: 'close', code: 4000, reason: 'bye' }),
    );
    const stream = await open(conn, bytes, origin.port, 1);
    expect(await stream.closed).toBe(WISP_CLOSE_REASONS.voluntary);
    const { head, frames } = parse(stream);
    expect(head?.status).toBe(101);
    expect(frames).toEqual([
      text('early'),
      { type: 'binary', payload: new Uint8Array([1, 2, 3]) },
      { type: 'close', code: 4000, reason: 'bye' },
    ]);
    conn.ws.close();
  });

  it('refuses websocket streams on /wisp/ with 0x41', async () => {
    const wisp = await connectWisp(egress.wsUrl('wisp/'));
    const stream = wisp.client.open('127.0.0.1', origin.port, 'websocket');
    expect(await stream.closed).toBe(WISP_CLOSE_REASONS.invalid);
    wisp.ws.close();
  });

  it('closes with 0x41: a URL naming another destination, POST, a body flag, bad frames', async () => {
    const conn = await tunnel();
    const base = `http://127.0.0.1:${origin.port}/echo`;
    const cases: Array<[string, Uint8Array]> = [
      ['other host', requestHead(`http://origin.test:${origin.port}/echo`)],
      ['other port', requestHead(`http://127.0.0.1:${origin.port + 1}/echo`)],
      ['POST', requestHead(base, 'POST')],
      ['hasBody', requestHead(base, 'GET', true)],
      [
        'text that is not UTF-8',
        concatBytes(
          requestHead(base),
          encodeWebSocketFrameHeader('text', 2),
          new Uint8Array([0xc3, 0x28]),
        ),
      ],
      ['unknown opcode', concatBytes(requestHead(base), new Uint8Array([0x09, 0, 0, 0, 0]))],
      [
        'frame after close',
        concatBytes(
          requestHead(base),
          encodeWebSocketFrame({ type: 'close', code: 1000, reason: '' }),
          encodeWebSocketFrame(text('late')),
        ),
      ],
    ];
    for (const [what, bytes] of cases) {
      const stream = await open(conn, bytes);
      expect(await stream.closed, what).toBe(WISP_CLOSE_REASONS.invalid);
    }
    conn.ws.close();
  });

  it('refuses a message over 1 MiB as soon as its header is in', async () => {
    const conn = await tunnel();
    // A header declaring 1 MiB + 1 bytes, and no payload: the stream closes all the same.
    const header = new Uint8Array([0x02, 0x01, 0x00, 0x10, 0x00]);
    const stream = await open(
      conn,
      concatBytes(requestHead(`http://127.0.0.1:${origin.port}/echo`), header),
    );
    expect(await stream.closed).toBe(WISP_CLOSE_REASONS.invalid);
    conn.ws.close();
  });

  it('reports failures before the head with the usual reasons: 0x44 refused, 0x43 timeout', async () => {
    const conn = await tunnel();
    const refused = await open(conn, requestHead(`http://127.0.0.1:${closedPort}/`), closedPort);
    expect(await refused.closed).toBe(WISP_CLOSE_REASONS.refused);
    const started = Date.now();
    const timeout = await open(conn, requestHead(`http://127.0.0.1:${silentPort}/`), silentPort);
    expect(await timeout.closed).toBe(WISP_CLOSE_REASONS.timeout);
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    expect(refused.received + timeout.received).toBe(0);
    conn.ws.close();
  });

  it('over TLS: 0x03 for a certificate it does not trust, 0x44 for a refused port', async () => {
    const certificate = await selfSignedCertificate([], ['127.0.0.1']);
    const untrusted = await startWebSocketOrigin({ tls: certificate });
    const strict = await startTestEgress({
      allow: [`127.0.0.1:${untrusted.port}`, `127.0.0.1:${closedPort}`],
    });
    try {
      const conn = await connectTunnel(strict.wsUrl('tunnel/'), strict.key.publicKey);
      const tls = await open(
        conn,
        requestHead(`https://127.0.0.1:${untrusted.port}/echo`),
        untrusted.port,
      );
      expect(await tls.closed).toBe(WISP_CLOSE_REASONS['network-error']);
      expect(untrusted.handshakes).toEqual([]);
      const refused = await open(conn, requestHead(`https://127.0.0.1:${closedPort}/`), closedPort);
      expect(await refused.closed).toBe(WISP_CLOSE_REASONS.refused);
      conn.ws.close();
    } finally {
      await strict.close();
      await untrusted.close();
    }
  });

  it('consumes uplink packets only as the origin takes the messages (an origin that never reads)', async () => {
    const conn = await tunnel();
    const stream = await open(conn, requestHead(`http://127.0.0.1:${origin.port}/deaf`));
    await waitFor(() => parse(stream).head !== null, 'the response head');
    const message = encodeWebSocketFrame({ type: 'binary', payload: new Uint8Array(MiB) });
    let sent = 0;
    const sending = (async () => {
      while (sent < 200 * MiB && !stream.isClosed) {
        await stream.send(message);
        sent += message.length;
      }
    })();
    // Sending stalls once the kernel buffers and our window are full; nothing more is accepted.
    let last = -1;
    for (let steady = 0; steady < 5;) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      steady = sent === last ? steady + 1 : 0;
      last = sent;
    }
    expect(stream.credit).toBe(0);
    expect(sent).toBeLessThan(48 * MiB);
    stream.close();
    conn.ws.close();
    await sending;
  });

  it('counts websocket streams by type', async () => {
    const metrics = await egress.metricsText();
    expect(metrics).toMatch(/bu_egress_streams_total\{endpoint="tunnel",type="websocket"\} \d+/);
    expect(countOf(metrics, 'bu_egress_streams_open', 'websocket')).toBe(0);
    // Nothing above was a bug of ours.
    expect(metrics).not.toMatch(/^bu_egress_faults_total\{/m);
  });
});

describe('websocket stream timeouts', () => {
  it('closes an idle websocket stream with 0x47 and tells the origin it is going away', async () => {
    const idle = await startTestEgress({
      allow: [`127.0.0.1:${origin.port}`],
      limits: { idleTimeoutMs: 300 },
    });
    try {
      const conn = await connectTunnel(idle.wsUrl('tunnel/'), idle.key.publicKey, {
        downlinkWindow: 64,
      });
      const closes = origin.closes.length;
      const stream = await open(conn, requestHead(`http://127.0.0.1:${origin.port}/echo`));
      expect(await stream.closed).toBe(WISP_CLOSE_REASONS['tcp-timeout']);
      expect(parse(stream).head?.status).toBe(101);
      await origin.closesReach(closes + 1);
      expect(origin.closes.at(-1)?.code).toBe(1001);
      conn.ws.close();
    } finally {
      await idle.close();
    }
  });
});
