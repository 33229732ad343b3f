import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWispPacket } from '../../protocol/wisp-codec.ts';
import { WISP_CLOSE_REASONS } from '../../protocol/wisp-types.ts';
import { DEFAULT_LIMITS, maxWispMessageBytes } from '../limits.ts';
import {
  connectTunnel,
  connectWisp,
  countOf,
  startTestEgress,
  type TestEgress,
} from './harness.ts';
import { patternBytes, startEchoOrigin, startFloodOrigin, type Origin } from './origins.ts';

const MiB = 1024 * 1024;
/** Generous: unbounded buffering of the 200 MiB flood would blow far past it. */
const RSS_BOUND = 96 * MiB;

let echo: Origin;
let egress: TestEgress;

beforeAll(async () => {
  echo = await startEchoOrigin();
  egress = await startTestEgress({
    allow: [`127.0.0.1:${echo.port}`],
    limits: { maxStreamsPerConnection: 4, maxConnectionsPerIp: 24, initialBuffer: 16 },
  });
});

afterAll(async () => {
  await egress.close();
  await echo.close();
});

/** Waits until the flood origin has been blocked by backpressure and stopped progressing. */
async function untilStalled(origin: { written(): number; stalled(): boolean }): Promise<number> {
  let last = -1;
  let steady = 0;
  while (steady < 5) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const now = origin.written();
    steady = origin.stalled() && now === last ? steady + 1 : 0;
    last = now;
  }
  return last;
}

async function echoWorks(): Promise<void> {
  const { client, ws } = await connectWisp(egress.wsUrl('wisp/'));
  const bytes = patternBytes(100_000, 7);
  const stream = client.open('127.0.0.1', echo.port);
  await stream.send(bytes);
  expect(Buffer.compare(await stream.receivedBytes(bytes.length), bytes)).toBe(0);
  ws.close();
}

describe('a client that stops reading', () => {
  for (const endpoint of ['wisp', 'tunnel'] as const) {
    it(`does not grow the egress's memory on /${endpoint}/ (200 MiB flood)`, async () => {
      const flood = await startFloodOrigin(200 * MiB);
      const slow = await startTestEgress({ allow: [`127.0.0.1:${flood.port}`] });
      try {
        global.gc?.();
        const rssBefore = process.memoryUsage().rss;
        const conn =
          endpoint === 'wisp'
            ? await connectWisp(slow.wsUrl('wisp/'))
            : await connectTunnel(slow.wsUrl('tunnel/'), slow.key.publicKey, {
                downlinkWindow: 32,
                autoGrant: false,
              });
        const stream = conn.client.open('127.0.0.1', flood.port);
        // /wisp/ has no downlink credit: the client simply stops reading its socket.
        if (endpoint === 'wisp') conn.ws.pause();
        const written = await untilStalled(flood);
        const growth = process.memoryUsage().rss - rssBefore;
        expect(written).toBeLessThan(64 * MiB);
        expect(growth).toBeLessThan(RSS_BOUND);
        if (endpoint === 'tunnel') expect(stream.received).toBeLessThanOrEqual(32 * 16_354);
        conn.ws.terminate();
      } finally {
        await slow.close();
        await flood.close();
      }
    });
  }
});

describe('limits', () => {
  it('closes streams over the per-connection limit with 0x49 and keeps the others', async () => {
    const { client, ws } = await connectWisp(egress.wsUrl('wisp/'));
    const streams = Array.from({ length: 5 }, () => client.open('127.0.0.1', echo.port));
    expect(await streams[4]!.closed).toBe(WISP_CLOSE_REASONS.throttled);
    await streams[0]!.send(new Uint8Array([1, 2, 3]));
    expect(Array.from(await streams[0]!.receivedBytes(3))).toEqual([1, 2, 3]);
    ws.close();
  });

  it('closes a stream whose client ignores the uplink window with 0x49', async () => {
    const { client, ws } = await connectWisp(egress.wsUrl('wisp/'));
    const stream = client.open('127.0.0.1', echo.port);
    // Far more than twice the window of 16, all at once, before the connection exists.
    for (let i = 0; i < 200; i++) {
      client.sendPacket({ type: 'data', streamId: stream.id, payload: new Uint8Array(10) });
    }
    expect(await stream.closed).toBe(WISP_CLOSE_REASONS.throttled);
    ws.close();
  });

  it('refuses connections over the per-IP limit with 429', async () => {
    const open = await Promise.all(
      Array.from({ length: 24 }, () => connectWisp(egress.wsUrl('wisp/'))),
    );
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(egress.wsUrl('tunnel/'));
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('error', () => undefined);
    });
    expect(refused).toBe(429);
    for (const c of open) c.ws.close();
    await Promise.all(open.map((c) => c.closed));
    expect(
      countOf(await egress.metricsText(), 'bu_egress_connections_rejected_total', 'per-ip'),
    ).toBe(1);
    await echoWorks();
  });
});

function randomBytes(length: number, seed: number): Uint8Array {
  return patternBytes(length, seed);
}

describe('bad input', () => {
  it('closes /wisp/ connections on random and malformed packets with a reason, and keeps serving', async () => {
    const messages: Uint8Array[] = [
      new Uint8Array(0),
      new Uint8Array([0x09, 1, 0, 0, 0]),
      new Uint8Array([0x01, 0, 0, 0, 0, 1, 80, 0, 0x61]),
      new Uint8Array([0x01, 1, 0, 0, 0, 1, 0, 0, 0x61]),
      new Uint8Array([0x03, 1, 0, 0, 0, 1]),
      encodeWispPacket({ type: 'info', streamId: 0, major: 2, minor: 0, extensions: [] }),
    ];
    for (let i = 0; i < 30; i++) messages.push(randomBytes(1 + ((i * 37) % 300), i + 100));
    for (const message of messages) {
      const conn = await connectWisp(egress.wsUrl('wisp/'));
      conn.ws.send(message);
      const { code, reason } = await conn.closed;
      if (code === 1000) continue; // a random CLOSE on stream 0 ends the connection normally
      expect(code, Buffer.from(message).toString('hex')).toBe(1002);
      expect(reason).toMatch(/^ERR_/);
    }
    const text = await connectWisp(egress.wsUrl('wisp/'));
    text.ws.send('hello');
    expect(await text.closed).toEqual({ code: 1003, reason: 'ERR_EGRESS_TEXT_MESSAGE' });
    const big = await connectWisp(egress.wsUrl('wisp/'));
    // Over one DATA packet carrying the whole uplink bound: nothing to do but close (1009).
    big.ws.send(new Uint8Array(maxWispMessageBytes(DEFAULT_LIMITS) + 1));
    expect((await big.closed).code).toBe(1009);
    await echoWorks();
  });

  it('closes /tunnel/ connections on random messages and sealed garbage, and keeps serving', async () => {
    for (let i = 0; i < 20; i++) {
      const ws = new WebSocket(egress.wsUrl('tunnel/'));
      const closed = new Promise<[number, string]>((resolve) =>
        ws.once('close', (code, reason) => resolve([code, reason.toString()])),
      );
      await new Promise((resolve) => ws.once('open', resolve));
      ws.send(randomBytes(1 + ((i * 53) % 400), i + 500));
      const [code, reason] = await closed;
      expect([1002, 1008]).toContain(code);
      expect(reason).toMatch(/^ERR_/);
    }
    for (let i = 0; i < 20; i++) {
      const conn = await connectTunnel(egress.wsUrl('tunnel/'), egress.key.publicKey);
      const garbage = randomBytes(1 + ((i * 71) % 500), i + 900);
      garbage[0] = 0x07; // not a Wisp packet type
      conn.sendRaw(conn.session.seal(i % 2 === 0 ? garbage : randomBytes(3, i)));
      expect((await conn.closed).reason).toMatch(/^ERR_WISP_/);
    }
    const conn = await connectTunnel(egress.wsUrl('tunnel/'), egress.key.publicKey);
    const replay = conn.session.seal(new Uint8Array(0));
    conn.sendRaw(replay);
    conn.sendRaw(replay);
    expect((await conn.closed).reason).toBe('ERR_TUNNEL_REPLAY');
    await echoWorks();
    const metrics = await egress.metricsText();
    expect(countOf(metrics, 'bu_egress_connection_closes_total', 'ERR_TUNNEL_REPLAY')).toBe(1);
  });
});
