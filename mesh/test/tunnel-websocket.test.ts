/**
 * WebSocket through the tunnel with real sockets: mesh's TunnelClient over a real WebSocket to
 * the real egress's /tunnel/, and the egress opening real WebSocket connections (plain and TLS)
 * to a `ws` origin on 127.0.0.1. The test egress refuses to dial anything but 127.0.0.1, and
 * names resolve through a fixed table, so nothing leaves the machine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { countOf, startTestEgress, type TestEgress } from '../../egress/test/harness.ts';
import { patternBytes } from '../../egress/test/origins.ts';
import { selfSignedCertificate } from '../../egress/test/tls-certificate.ts';
import { startWebSocketOrigin, type WebSocketOrigin } from '../../egress/test/websocket-origins.ts';
import { StreamClosedError } from '../errors.ts';
import { TunnelClient } from '../tunnel-client.ts';
import type { TunnelWebSocket, TunnelWebSocketClose } from '../tunnel-websocket.ts';

const MiB = 1024 * 1024;

let plain: WebSocketOrigin;
let secure: WebSocketOrigin;
let egress: TestEgress;

beforeAll(async () => {
  const certificate = await selfSignedCertificate(['origin.test'], ['127.0.0.1']);
  plain = await startWebSocketOrigin();
  secure = await startWebSocketOrigin({ tls: certificate });
  egress = await startTestEgress({
    allow: [`127.0.0.1:${plain.port}`, `127.0.0.1:${secure.port}`],
    extraCaCertificates: [certificate.cert],
  });
});

afterAll(async () => {
  // Nothing the tests did was a bug of ours.
  expect(await egress.metricsText()).not.toMatch(/^bu_egress_faults_total\{/m);
  await egress.close();
  await plain.close();
  await secure.close();
});

async function tunnel(target: TestEgress = egress, downlinkWindow?: number): Promise<TunnelClient> {
  const ws = new WebSocket(target.wsUrl('tunnel/'));
  ws.binaryType = 'nodebuffer';
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const client = new TunnelClient(
    { send: (message) => ws.send(message), close: () => ws.close() },
    {
      egressPublicKey: target.key.publicKey,
      ...(downlinkWindow === undefined ? {} : { downlinkWindow }),
    },
  );
  ws.on('message', (data: Buffer) => client.receive(new Uint8Array(data)));
  ws.on('close', () => client.transportClosed());
  await client.ready;
  return client;
}

/** Collects messages; `next()` resolves with the next one. */
function inbox(socket: TunnelWebSocket): { next(): Promise<string | Uint8Array> } {
  const queue: Array<string | Uint8Array> = [];
  const waiters: Array<(message: string | Uint8Array) => void> = [];
  socket.on('message', (message) => {
    const waiter = waiters.shift();
    if (waiter) waiter(message);
    else queue.push(message);
  });
  return {
    next: () =>
      new Promise((resolve) => {
        const message = queue.shift();
        if (message !== undefined) resolve(message);
        else waiters.push(resolve);
      }),
  };
}

function lowerHeaders(headers: Array<[string, string]>): Array<[string, string]> {
  return headers.map(([name, value]) => [name.toLowerCase(), value]);
}

describe('WebSocket through the tunnel', () => {
  it('echoes text and binary over ws:, with the handshake headers passed and set-cookie returned', async () => {
    const client = await tunnel();
    const socket = await client.openWebSocket({
      url: `ws://127.0.0.1:${plain.port}/echo`,
      headers: [
        ['Origin', 'https://app.example'],
        ['Cookie', 'a=1'],
        ['Cookie', 'b=2'],
        ['Connection', 'x-secret'],
        ['X-Secret', 'hop-by-hop'],
        ['Sec-WebSocket-Extensions', 'permessage-deflate'],
        ['User-Agent', 'test-agent'],
      ],
    });
    expect(socket.status).toBe(101);
    expect(socket.readyState).toBe('open');
    expect(socket.protocol).toBe('');
    expect(socket.url).toBe(`ws://127.0.0.1:${plain.port}/echo`);
    const headers = lowerHeaders(socket.headers);
    expect(headers).toContainEqual(['set-cookie', 'origin=1']);
    expect(headers.map(([name]) => name)).not.toContain('sec-websocket-accept');
    expect(headers.map(([name]) => name)).not.toContain('upgrade');

    const messages = inbox(socket);
    socket.send('hello, origin');
    expect(await messages.next()).toBe('hello, origin');
    socket.send('');
    expect(await messages.next()).toBe('');
    socket.send('ünïcødé ✓ 𝄞');
    expect(await messages.next()).toBe('ünïcødé ✓ 𝄞');
    const bytes = patternBytes(100_000, 3);
    socket.send(bytes);
    const echoed = await messages.next();
    expect(echoed).toBeInstanceOf(Uint8Array);
    expect(Buffer.compare(echoed as Uint8Array, bytes)).toBe(0);

    const seen = plain.handshakes.at(-1)?.headers;
    expect(seen?.host).toBe(`127.0.0.1:${plain.port}`);
    expect(seen?.origin).toBe('https://app.example');
    expect(seen?.cookie).toBe('a=1; b=2');
    expect(seen?.['user-agent']).toBe('test-agent');
    expect(seen?.['x-secret']).toBeUndefined();
    expect(seen?.['sec-websocket-extensions']).toBeUndefined();
    socket.close();
    await socket.closed;
    client.close();
  });

  it('speaks TLS to a wss: origin by name: SNI and Host are the name, the address is the approved one', async () => {
    const client = await tunnel();
    const socket = await client.openWebSocket({ url: `wss://origin.test:${secure.port}/echo` });
    expect(socket.status).toBe(101);
    expect(socket.url).toBe(`wss://origin.test:${secure.port}/echo`);
    const messages = inbox(socket);
    socket.send('over tls');
    expect(await messages.next()).toBe('over tls');
    expect(secure.handshakes.at(-1)?.headers.host).toBe(`origin.test:${secure.port}`);
    socket.close(1000, 'done');
    expect(await socket.closed).toMatchObject({ code: 1000, reason: 'done', wasClean: true });
    client.close();
  });

  it('carries 1 MiB messages both ways, text and binary, and refuses a larger one before sending', async () => {
    const client = await tunnel();
    const socket = await client.openWebSocket({ url: `ws://127.0.0.1:${plain.port}/echo` });
    const messages = inbox(socket);
    const big = patternBytes(MiB, 11);
    socket.send(big);
    const text = 'x'.repeat(MiB - 3) + '€';
    socket.send(text);
    expect(socket.bufferedAmount).toBeGreaterThan(0);
    const echoed = await messages.next();
    expect(Buffer.compare(echoed as Uint8Array, big)).toBe(0);
    expect(await messages.next()).toBe(text);
    expect(socket.bufferedAmount).toBe(0);
    expect(() => socket.send(new Uint8Array(MiB + 1))).toThrow(RangeError);
    socket.close();
    await socket.closed;
    client.close();
  });

  it('holds messages while paused and delivers them in order on resume', async () => {
    const client = await tunnel();
    const socket = await client.openWebSocket({ url: `ws://127.0.0.1:${plain.port}/echo` });
    const received: Array<string | Uint8Array> = [];
    socket.on('message', (message) => received.push(message));
    socket.pause();
    for (const text of ['one', 'two', 'three']) socket.send(text);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(received).toEqual([]);
    socket.resume();
    while (received.length < 3) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(received).toEqual(['one', 'two', 'three']);
    socket.close();
    await socket.closed;
    client.close();
  });

  it('negotiates a subprotocol: the origin picks from the offered list', async () => {
    const client = await tunnel();
    const socket = await client.openWebSocket({
      url: `ws://127.0.0.1:${plain.port}/echo`,
      protocols: ['chat.v3', 'chat.v2', 'chat.v1'],
    });
    expect(socket.protocol).toBe('chat.v2');
    expect(plain.handshakes.at(-1)?.headers['sec-websocket-protocol']).toBe(
      'chat.v3,chat.v2,chat.v1',
    );
    socket.close();
    const other = await client.openWebSocket({
      url: `ws://127.0.0.1:${plain.port}/echo`,
      protocols: ['chat.v1'],
    });
    expect(other.protocol).toBe('chat.v1');
    other.close();
    await expect(
      client.openWebSocket({ url: `ws://127.0.0.1:${plain.port}/`, protocols: ['a', 'a'] }),
    ).rejects.toThrow(TypeError);
    client.close();
  });

  it('reports an origin that refuses the upgrade (403) as the status, and the socket closed', async () => {
    const client = await tunnel();
    const socket = await client.openWebSocket({ url: `ws://127.0.0.1:${plain.port}/forbidden` });
    expect(socket.status).toBe(403);
    expect(socket.statusText).toBe('Forbidden');
    expect(lowerHeaders(socket.headers)).toContainEqual(['x-why', 'no']);
    expect(socket.readyState).toBe('closed');
    expect(await socket.closed).toMatchObject({ code: 1006, wasClean: false });
    socket.send('dropped');
    // The tunnel is fine.
    const next = await client.openWebSocket({ url: `ws://127.0.0.1:${plain.port}/echo` });
    expect(next.status).toBe(101);
    next.close();
    client.close();
  });

  it('closes a forbidden destination with 0x48 before dialling it, and counts it', async () => {
    const client = await tunnel();
    const before = await egress.metricsText();
    const dialled = egress.dialed.length;
    for (const url of [
      'ws://10.0.0.1/',
      'ws://169.254.169.254/latest/meta-data',
      'wss://metadata.test/',
      'ws://localhost:80/',
      `ws://127.0.0.1:${plain.port + 1}/`,
    ]) {
      const err = await client.openWebSocket({ url }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, url).toBeInstanceOf(StreamClosedError);
      expect((err as StreamClosedError).reasonName, url).toBe('blocked');
    }
    expect(egress.dialed.length).toBe(dialled);
    const after = await egress.metricsText();
    const refused = (text: string): number =>
      countOf(text, 'bu_egress_policy_refusals_total', 'tunnel');
    expect(refused(after) - refused(before)).toBe(5);
    const opened = (text: string): number => countOf(text, 'bu_egress_streams_total', 'websocket');
    expect(opened(after) - opened(before)).toBe(5);
    expect(client.isOpen).toBe(true);
    client.close();
  });

  it('hands the client the origin close (4001 "bye") after the messages before it', async () => {
    const client = await tunnel();
    const socket = await client.openWebSocket({ url: `ws://127.0.0.1:${plain.port}/bye` });
    const messages = inbox(socket);
    const closes: TunnelWebSocketClose[] = [];
    socket.on('close', (close) => closes.push(close));
    expect(await messages.next()).toBe('hello');
    const close = await socket.closed;
    expect(close).toEqual({ code: 4001, reason: 'bye', wasClean: true, error: undefined });
    expect(closes).toEqual([close]);
    expect(socket.readyState).toBe('closed');
    client.close();
  });

  it('hands the origin the client close (4000 "done"), and the origin answer back', async () => {
    const client = await tunnel();
    const socket = await client.openWebSocket({ url: `ws://127.0.0.1:${plain.port}/echo` });
    const closesBefore = plain.closes.length;
    socket.close(4000, 'done');
    expect(socket.readyState).toBe('closing');
    await plain.closesReach(closesBefore + 1);
    expect(plain.closes.at(-1)).toEqual({ code: 4000, reason: 'done' });
    expect(await socket.closed).toMatchObject({ code: 4000, reason: 'done', wasClean: true });
    expect(() => socket.close(1005)).toThrow(RangeError);
    client.close();
  });

  it('tells the origin "going away" (1001) when the client drops the stream or the tunnel', async () => {
    const client = await tunnel();
    const socket = await client.openWebSocket({ url: `ws://127.0.0.1:${plain.port}/echo` });
    const closesBefore = plain.closes.length;
    // No listener: the failure is reported all the same.
    const ended = socket.closed;
    client.close();
    await plain.closesReach(closesBefore + 1);
    expect(plain.closes.at(-1)?.code).toBe(1001);
    expect(await ended).toMatchObject({ code: 1006, wasClean: false });
    expect((await ended).error).toBeInstanceOf(StreamClosedError);
  });

  it('closes with 1009 when the origin sends a message over 1 MiB', async () => {
    const client = await tunnel();
    const socket = await client.openWebSocket({ url: `ws://127.0.0.1:${plain.port}/big` });
    socket.on('message', () => undefined);
    expect(await socket.closed).toMatchObject({ code: 1009, wasClean: true });
    client.close();
  });
});

describe('a WebSocket reader that stops reading', () => {
  it('stalls the origin instead of growing the egress (200 MiB flood)', async () => {
    const flood = await startWebSocketOrigin({ floodBytes: 200 * MiB });
    const slow = await startTestEgress({ allow: [`127.0.0.1:${flood.port}`] });
    try {
      global.gc?.();
      const rssBefore = process.memoryUsage().rss;
      const client = await tunnel(slow, 32);
      const socket = await client.openWebSocket({ url: `ws://127.0.0.1:${flood.port}/flood` });
      // No listener yet: nothing is read, so no credit goes back and the egress pauses the origin.
      let last = -1;
      let steady = 0;
      while (steady < 5) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        const now = flood.flooded();
        steady = flood.floodStalled() && now === last ? steady + 1 : 0;
        last = now;
      }
      const growth = process.memoryUsage().rss - rssBefore;
      expect(last).toBeLessThan(64 * MiB);
      expect(growth).toBeLessThan(96 * MiB);

      // Reading again lets the flood go on.
      let received = 0;
      const enough = new Promise<void>((resolve) =>
        socket.on('message', (message) => {
          received += message.length;
          if (received >= last + 8 * MiB) resolve();
        }),
      );
      await enough;
      expect(flood.flooded()).toBeGreaterThan(last);
      socket.close();
      client.close();
    } finally {
      await slow.close();
      await flood.close();
    }
  });
});
