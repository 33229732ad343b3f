/**
 * The volunteer's relay between an in-memory data channel (the consumer's side, driven by a
 * real TunnelClient where a tunnel is needed) and a real egress on 127.0.0.1 over a real `ws`
 * WebSocket. The socket is tapped (what the relay sent it and got from it, pause and resume
 * calls), never faked.
 */
import { randomBytes } from 'node:crypto';
import { createServer as createTcpServer, type AddressInfo, type Server } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startEgressServer, type EgressServer } from '../../egress/server.ts';
import { bytesToBase64url } from '../../protocol/bytes.ts';
import type { EgressInfo } from '../../protocol/matchmaking.ts';
import { generateKeyPair } from '../../protocol/noise/crypto-suite.ts';
import { encodeHello } from '../../protocol/tunnel-hello.ts';
import { encodeRefused, type TunnelRefusalReason } from '../../protocol/tunnel-refused.ts';
import { settled, waitFor } from '../../test/wait-for.ts';
import { Relay, type RelayOptions, type RelaySocket } from '../relay.ts';
import { TokenBucket } from '../token-bucket.ts';
import { TunnelClient, type TunnelClientOptions, type TunnelStream } from '../tunnel-client.ts';
import { MemoryChannel } from './memory-channel.ts';
import { readAll } from './read-all.ts';

const key = generateKeyPair();
const MiB = 1024 * 1024;
/** The relay stops reading the egress above this much in the channel (relay.ts PAUSE_BYTES). */
const PAUSE_BYTES = MiB;
/** Largest tunnel message (protocol/limits.ts). */
const MAX_MESSAGE = 16 * 1024;

let egress: EgressServer;
let echo: Server;
let echoPort: number;
/** A TCP server that sends SOURCE_BYTES to whoever connects, as a download would. */
let source: Server;
let sourcePort: number;
const SOURCE_BYTES = 16 * MiB;
let egresses: EgressInfo[];

function listening(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

beforeAll(async () => {
  echo = createTcpServer((socket) => {
    // The egress resets its end when a tunnel is cut mid-stream.
    socket.on('error', () => undefined);
    socket.pipe(socket);
  });
  echoPort = await listening(echo);
  const chunk = randomBytes(64 * 1024);
  source = createTcpServer((socket) => {
    socket.on('error', () => undefined);
    let left = SOURCE_BYTES;
    const more = (): void => {
      while (left > 0 && !socket.destroyed) {
        left -= chunk.length;
        if (!socket.write(chunk)) return void socket.once('drain', more);
      }
      socket.end();
    };
    more();
  });
  sourcePort = await listening(source);
  egress = await startEgressServer({
    host: '127.0.0.1',
    port: 0,
    admission: 'off',
    key,
    allow: [`127.0.0.1:${echoPort}`, `127.0.0.1:${sourcePort}`],
    // A large uplink window, so that the backpressure test can have megabytes in flight
    // without waiting on the egress's CONTINUE (which a stalled channel holds back).
    limits: { initialBuffer: 1024 },
    log: 'silent',
  });
  const vacant = createTcpServer();
  const closedPort = await listening(vacant);
  await new Promise((resolve) => vacant.close(resolve));
  const publicKey = bytesToBase64url(key.publicKey);
  egresses = [
    { id: 'local', url: egress.url, publicKey },
    { id: 'gone', url: `http://127.0.0.1:${closedPort}/`, publicKey },
    { id: 'not-an-egress', url: `${egress.url}elsewhere/`, publicKey },
    { id: 'bad-scheme', url: 'ftp://127.0.0.1/', publicKey },
  ];
});

afterAll(async () => {
  await egress.close();
  await new Promise((resolve) => echo.close(resolve));
  await new Promise((resolve) => source.close(resolve));
});

/** A real `ws` WebSocket with a tap: every message both ways, and pause/resume calls. */
class TappedSocket implements RelaySocket {
  readonly ws: WebSocket;
  readonly url: string;
  readonly toEgress: Uint8Array[] = [];
  readonly fromEgress: Uint8Array[] = [];
  pauses = 0;
  resumes = 0;

  constructor(url: string) {
    this.url = url;
    this.ws = new WebSocket(url);
  }

  get binaryType(): string {
    return this.ws.binaryType;
  }

  set binaryType(value: string) {
    if (value !== 'arraybuffer' && value !== 'nodebuffer' && value !== 'fragments') {
      throw new TypeError(`binaryType: not a ws binary type: ${value}`);
    }
    this.ws.binaryType = value;
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  get readyState(): number {
    return this.ws.readyState;
  }

  send(data: Uint8Array<ArrayBuffer>): void {
    this.toEgress.push(data.slice());
    this.ws.send(data);
  }

  close(code?: number, reason?: string): void {
    this.ws.close(code, reason);
  }

  pause(): void {
    this.pauses++;
    this.ws.pause();
  }

  resume(): void {
    this.resumes++;
    this.ws.resume();
  }

  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'open' | 'close' | 'error', listener: () => void): void;
  addEventListener(
    type: 'message' | 'open' | 'close' | 'error',
    listener: (event: { data: unknown }) => void,
  ): void {
    if (type !== 'message') {
      this.ws.addEventListener(type, () => listener({ data: undefined }));
      return;
    }
    this.ws.addEventListener('message', (event) => {
      if (!(event.data instanceof ArrayBuffer)) throw new TypeError('expected an ArrayBuffer');
      this.fromEgress.push(new Uint8Array(event.data.slice(0)));
      listener(event);
    });
  }
}

interface Harness {
  readonly relay: Relay;
  readonly channel: MemoryChannel;
  readonly sockets: TappedSocket[];
  /** Totals of what `onBytes` reported. */
  readonly bytes: { up: number; down: number; calls: number; mixedCalls: number };
}

const harnesses: Harness[] = [];
const clients: TunnelClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  for (const { relay, sockets } of harnesses.splice(0)) {
    relay.close();
    // A socket the relay left paused would linger for ws's 30 s close timer (see below).
    for (const socket of sockets) if (socket.ws.isPaused) socket.ws.terminate();
    await waitFor(
      () => sockets.every((socket) => socket.readyState === WebSocket.CLOSED),
      'the relay to close its egress sockets',
    );
  }
});

function startRelay(options: Partial<RelayOptions> = {}): Harness {
  const channel = new MemoryChannel();
  const sockets: TappedSocket[] = [];
  const bytes = { up: 0, down: 0, calls: 0, mixedCalls: 0 };
  const relay = new Relay({
    channel,
    egresses,
    openSocket: (url) => {
      const socket = new TappedSocket(url);
      sockets.push(socket);
      return socket;
    },
    bucket: new TokenBucket(0),
    onBytes: (up, down) => {
      bytes.up += up;
      bytes.down += down;
      bytes.calls++;
      if (up !== 0 && down !== 0) bytes.mixedCalls++;
    },
    ...options,
  });
  const harness = { relay, channel, sockets, bytes };
  harnesses.push(harness);
  return harness;
}

/** What a data channel with `binaryType = 'arraybuffer'` delivers: a fresh ArrayBuffer. */
function arrayBufferOf(bytes: Uint8Array): ArrayBuffer {
  return bytes.slice().buffer;
}

interface Consumer {
  readonly client: TunnelClient;
  /** Tunnel messages the client sent, after the HELLO. */
  readonly sent: Uint8Array[];
  /** Messages the client received. */
  readonly received: Uint8Array[];
}

/** The consumer's side: HELLO, then a TunnelClient over the channel. */
function connect(
  channel: MemoryChannel,
  egressId = 'local',
  options: Partial<Pick<TunnelClientOptions, 'downlinkWindow'>> = {},
): Consumer {
  channel.consumerSend(arrayBufferOf(encodeHello(egressId)));
  const sent: Uint8Array[] = [];
  const received: Uint8Array[] = [];
  const client = new TunnelClient(
    {
      send: (message) => {
        sent.push(message.slice());
        channel.consumerSend(arrayBufferOf(message));
      },
      close: () => channel.consumerClose(),
    },
    {
      egressPublicKey: key.publicKey,
      // No liveness probes: the tests hold messages back on purpose.
      keepalive: { idleMs: 600_000, timeoutMs: 600_000 },
      ...options,
    },
  );
  clients.push(client);
  channel.onConsumerMessage = (message) => {
    received.push(message);
    client.receive(message);
  };
  channel.onConsumerClose = () => client.transportClosed();
  return { client, sent, received };
}

/** Writes `data` to the stream and reads back as many bytes. */
function echoThrough(stream: TunnelStream, data: Uint8Array): Promise<Buffer> {
  const writer = stream.writable.getWriter();
  const written = writer.write(data);
  written.catch(() => undefined);
  writer.releaseLock();
  return readAll(stream.readable, data.length);
}

/** Index of the first message that differs (or the shorter length), or -1 if all are equal. */
function firstDifference(a: readonly Uint8Array[], b: readonly Uint8Array[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined || y === undefined || Buffer.compare(x, y) !== 0) return i;
  }
  return -1;
}

function total(messages: readonly Uint8Array[]): number {
  return messages.reduce((sum, message) => sum + message.length, 0);
}

function refused(reason: TunnelRefusalReason): Uint8Array[] {
  return [encodeRefused(reason)];
}

describe('Relay with a real egress', () => {
  it('carries a full Noise tunnel to a TCP echo, every message 1:1, byte-exact and in order', async () => {
    const { relay, channel, sockets, bytes } = startRelay();
    const consumer = connect(channel);
    await consumer.client.ready;
    expect(relay.egressId).toBe('local');
    expect(sockets.map((socket) => socket.url)).toEqual([`${egress.url}tunnel/`]);

    const data = randomBytes(MiB);
    const stream = consumer.client.openStream('127.0.0.1', echoPort);
    const echoed = await echoThrough(stream, data);
    expect(Buffer.compare(echoed, data)).toBe(0);

    const [socket] = sockets;
    if (socket === undefined) throw new Error('no socket');
    await waitFor(
      () =>
        socket.toEgress.length === consumer.sent.length &&
        channel.sent.length === socket.fromEgress.length &&
        consumer.received.length === channel.sent.length,
      'every message to have crossed the relay',
    );
    // Upstream: what the client sent is what reached the egress's socket; downstream: what
    // the egress sent is what the channel carried and the client got.
    expect(consumer.sent.length).toBeGreaterThan(64);
    expect(firstDifference(consumer.sent, socket.toEgress)).toBe(-1);
    expect(firstDifference(socket.fromEgress, channel.sent)).toBe(-1);
    expect(firstDifference(channel.sent, consumer.received)).toBe(-1);
    // onBytes: one call per message, one direction at a time, exact totals (HELLO excluded).
    expect(bytes.up).toBe(total(consumer.sent));
    expect(bytes.down).toBe(total(channel.sent));
    expect(bytes.calls).toBe(consumer.sent.length + channel.sent.length);
    expect(bytes.mixedCalls).toBe(0);
    // The channel never filled, so the socket was never paused.
    expect(socket.pauses).toBe(0);
    expect(relay.refusal).toBeUndefined();
    expect(channel.closeCalls).toBe(0);

    consumer.client.close();
    await expect(relay.ended).resolves.toBe('closed');
    await waitFor(() => socket.readyState === WebSocket.CLOSED, 'the egress socket to close');
    expect(relay.refusal).toBeUndefined();
  });

  it('reads a HELLO the channel delivered before the relay existed', async () => {
    const { relay, channel, sockets } = startRelay({
      received: [arrayBufferOf(encodeHello('local'))],
    });
    expect(relay.egressId).toBe('local');
    expect(sockets).toHaveLength(1);
    // The TunnelClient's first message follows the early HELLO; no second HELLO is sent.
    const sent: Uint8Array[] = [];
    const client = new TunnelClient(
      {
        send: (message) => {
          sent.push(message.slice());
          channel.consumerSend(arrayBufferOf(message));
        },
        close: () => channel.consumerClose(),
      },
      { egressPublicKey: key.publicKey, keepalive: { idleMs: 600_000, timeoutMs: 600_000 } },
    );
    clients.push(client);
    channel.onConsumerMessage = (message) => client.receive(message);
    await client.ready;
    const data = randomBytes(4096);
    const echoed = await echoThrough(client.openStream('127.0.0.1', echoPort), data);
    expect(Buffer.compare(echoed, data)).toBe(0);
  });

  it('accepts a HELLO delivered as a view into a larger buffer', async () => {
    const { relay, channel, sockets } = startRelay();
    const hello = encodeHello('local');
    const backing = new Uint8Array(hello.length + 20).fill(0xee);
    backing.set(hello, 7);
    channel.consumerSend(new DataView(backing.buffer, 7, hello.length));
    await waitFor(() => sockets.length === 1, 'the relay to open the egress socket');
    expect(relay.egressId).toBe('local');
    expect(relay.refusal).toBeUndefined();
  });

  it('refuses an egress that is not on its list with REFUSED unknown-egress, opening nothing', async () => {
    const { relay, channel, sockets, bytes } = startRelay();
    const consumer = connect(channel, 'elsewhere');
    await expect(relay.ended).resolves.toBe('unknown-egress');
    expect(relay.refusal).toBe('unknown-egress');
    expect(relay.egressId).toBeUndefined();
    expect(sockets).toHaveLength(0);
    expect(channel.sent).toEqual(refused('unknown-egress'));
    // The owner closes the channel once the consumer has read the REFUSED.
    expect(channel.closeCalls).toBe(0);
    await expect(consumer.client.ready).rejects.toMatchObject({
      code: 'ERR_TUNNEL_REFUSED',
      reason: 'unknown-egress',
    });
    expect(bytes.calls).toBe(0);
  });

  it.each([
    ['nothing listens on its port', 'gone'],
    ['its server answers the upgrade with 404', 'not-an-egress'],
    ['its URL is not one a WebSocket can open (openSocket throws)', 'bad-scheme'],
  ])('refuses with REFUSED egress-unreachable when %s', async (_what, egressId) => {
    // For the bad scheme, the real `ws` constructor throws before there is a socket.
    const { relay, channel, sockets, bytes } = startRelay();
    const consumer = connect(channel, egressId);
    await expect(relay.ended).resolves.toBe('egress-unreachable');
    expect(relay.refusal).toBe('egress-unreachable');
    expect(relay.egressId).toBe(egressId);
    expect(channel.sent).toEqual(refused('egress-unreachable'));
    expect(channel.closeCalls).toBe(0);
    await expect(consumer.client.ready).rejects.toMatchObject({
      code: 'ERR_TUNNEL_REFUSED',
      reason: 'egress-unreachable',
    });
    expect(bytes.calls).toBe(0);
    for (const socket of sockets) {
      expect(socket.toEgress).toHaveLength(0);
      await waitFor(() => socket.readyState === WebSocket.CLOSED, 'the failed socket to close');
    }
  });

  const hello = encodeHello('local');
  it.each<[string, unknown]>([
    ['a sealed frame instead of HELLO', Uint8Array.of(0x04, 1, 2, 3).buffer],
    ['an empty message', new ArrayBuffer(0)],
    ['a handshake init without HELLO', Uint8Array.of(0x02, ...new Uint8Array(48)).buffer],
    ['a HELLO for another tunnel version', Uint8Array.of(0x01, 0x02, ...hello.subarray(2)).buffer],
    ['a HELLO whose length byte overstates its id', Uint8Array.of(0x01, 0x01, 9, 0x6c).buffer],
    ['a HELLO whose length byte understates its id', Uint8Array.of(...hello, 0x78).buffer],
    ['a HELLO naming an invalid id', Uint8Array.of(0x01, 0x01, 3, 0x61, 0x20, 0x62).buffer],
    ['a HELLO over the message size limit', new Uint8Array(MAX_MESSAGE + 1).fill(0x01).buffer],
    ['a text message', 'HELLO local'],
    ['a Blob-like object', { size: 3 }],
  ])('refuses %s with REFUSED bad-hello, opening nothing', async (_what, first) => {
    const { relay, channel, sockets, bytes } = startRelay();
    channel.consumerSend(first);
    // A valid HELLO right after is too late: the relay has refused already.
    channel.consumerSend(arrayBufferOf(hello));
    await expect(relay.ended).resolves.toBe('bad-hello');
    expect(relay.refusal).toBe('bad-hello');
    expect(relay.egressId).toBeUndefined();
    expect(channel.sent).toEqual(refused('bad-hello'));
    expect(channel.closeCalls).toBe(0);
    expect(sockets).toHaveLength(0);
    expect(bytes.calls).toBe(0);
  });

  it('refuses with REFUSED bad-hello when no HELLO comes in time', async () => {
    const { relay, channel, sockets } = startRelay({ helloTimeoutMs: 20 });
    await expect(relay.ended).resolves.toBe('hello-timeout');
    expect(relay.refusal).toBe('bad-hello');
    expect(channel.sent).toEqual(refused('bad-hello'));
    expect(sockets).toHaveLength(0);
  });

  it('an egress that hangs up once open ends the relay "closed": no REFUSED, channel closed', async () => {
    const { relay, channel, sockets, bytes } = startRelay();
    channel.consumerSend(arrayBufferOf(encodeHello('local')));
    // Not a Noise handshake init the egress can read: it closes the WebSocket.
    const garbage = Uint8Array.of(0x02, 0x01, ...new Uint8Array(47).fill(0x5a));
    channel.consumerSend(arrayBufferOf(garbage));
    await expect(relay.ended).resolves.toBe('closed');
    expect(relay.refusal).toBeUndefined();
    expect(channel.sent).toHaveLength(0);
    expect(channel.closeCalls).toBe(1);
    const [socket] = sockets;
    expect(socket?.toEgress).toEqual([garbage]);
    expect(bytes.up).toBe(garbage.length);
  });

  it('stops reading the egress while the channel is full and resumes on bufferedamountlow', async () => {
    const { relay, channel, sockets, bytes } = startRelay();
    const consumer = connect(channel, 'local', { downlinkWindow: 4096 });
    await consumer.client.ready;
    const stream = consumer.client.openStream('127.0.0.1', echoPort);
    // One round trip first, so the client holds the egress's uplink credit before the stall.
    const ping = randomBytes(16);
    expect(Buffer.compare(await echoThrough(stream, ping), ping)).toBe(0);
    const [socket] = sockets;
    if (socket === undefined) throw new Error('no socket');
    expect(relay.egressId).toBe('local');

    channel.stall();
    const data = randomBytes(8 * MiB);
    const echoed = echoThrough(stream, data);
    await waitFor(() => socket.pauses > 0, 'the relay to pause the egress socket');
    expect(channel.bufferedAmount).toBeGreaterThan(PAUSE_BYTES);
    expect(socket.ws.isPaused).toBe(true);
    // Nothing more is read from the socket while the channel stays full …
    const fromEgress = await settled(() => socket.fromEgress.length, 'messages from the egress');
    const downWhilePaused = bytes.down;
    // … although the egress has far more echo to send: megabytes went up, about one came down.
    const upWhilePaused = await settled(() => bytes.up, 'the upload');
    expect(upWhilePaused).toBeGreaterThan(4 * MiB);
    expect(downWhilePaused).toBeLessThan(upWhilePaused / 2);
    expect(socket.resumes).toBe(0);

    channel.drain();
    await waitFor(() => socket.resumes > 0, 'the relay to resume the egress socket');
    expect(socket.ws.isPaused).toBe(false);
    const result = await echoed;
    expect(Buffer.compare(result, data)).toBe(0);
    expect(socket.fromEgress.length).toBeGreaterThan(fromEgress);
    expect(channel.bufferedAmount).toBe(0);
    expect(relay.refusal).toBeUndefined();
  });

  it('delays bytes until the token bucket refills (injected clock)', async () => {
    const rate = 64 * 1024;
    let now = 0;
    let clockReads = 0;
    const bucket = new TokenBucket(rate, () => {
      clockReads++;
      return now;
    });
    const { relay, channel, sockets, bytes } = startRelay({ bucket });
    const consumer = connect(channel);
    await consumer.client.ready;
    const data = randomBytes(512 * 1024);
    const echoed = echoThrough(consumer.client.openStream('127.0.0.1', echoPort), data);

    /** Waits until the relay has asked the frozen clock a few more times, and returns the total. */
    const stalledTotal = async (): Promise<number> => {
      const before = await settled(() => bytes.up + bytes.down, 'the relayed bytes');
      const reads = clockReads;
      await waitFor(() => clockReads >= reads + 4, 'the relay to retry the bucket');
      expect(bytes.up + bytes.down).toBe(before);
      return before;
    };

    // The clock stands still: one second of burst goes through, and no more. Messages are at
    // most MAX_MESSAGE, so what is left in the bucket is less than the next one.
    const first = await stalledTotal();
    expect(first).toBeLessThanOrEqual(rate);
    expect(first).toBeGreaterThan(rate - MAX_MESSAGE);

    // One second later, one more second's worth.
    now += 1000;
    await waitFor(() => bytes.up + bytes.down > first, 'the refilled bucket to release bytes');
    const second = await stalledTotal();
    expect(second - first).toBeLessThanOrEqual(rate);
    expect(second - first).toBeGreaterThan(rate - MAX_MESSAGE);

    // Unlimited from now on: the rest goes through, byte-exact.
    bucket.rate = 0;
    expect(Buffer.compare(await echoed, data)).toBe(0);
    const [socket] = sockets;
    if (socket === undefined) throw new Error('no socket');
    await waitFor(
      () =>
        socket.toEgress.length === consumer.sent.length &&
        channel.sent.length === socket.fromEgress.length,
      'every message to have crossed the relay',
    );
    expect(firstDifference(consumer.sent, socket.toEgress)).toBe(-1);
    expect(firstDifference(socket.fromEgress, channel.sent)).toBe(-1);
    expect(bytes.up).toBe(total(consumer.sent));
    expect(bytes.down).toBe(total(channel.sent));
    expect(relay.refusal).toBeUndefined();
  });

  it('cuts off a consumer whose channel buffer passes maxBufferedBytes with "overflow"', async () => {
    const { relay, channel, sockets } = startRelay({ maxBufferedBytes: 256 * 1024 });
    const consumer = connect(channel, 'local', { downlinkWindow: 4096 });
    await consumer.client.ready;
    const stream = consumer.client.openStream('127.0.0.1', echoPort);
    const ping = randomBytes(16);
    expect(Buffer.compare(await echoThrough(stream, ping), ping)).toBe(0);
    channel.stall();
    echoThrough(stream, randomBytes(2 * MiB)).catch(() => undefined);
    await expect(relay.ended).resolves.toBe('overflow');
    // The egress had spoken: no REFUSED, the relay closes the channel itself.
    expect(relay.refusal).toBeUndefined();
    expect(channel.closeCalls).toBe(1);
    expect(channel.closed).toBe(true);
    const [socket] = sockets;
    await waitFor(() => socket?.readyState === WebSocket.CLOSED, 'the egress socket to close');
  });

  // A regression test: the relay once stopped reading the egress only for the channel's buffer,
  // never for its own queue behind the token bucket, so a download faster than the volunteer's
  // limit, within the consumer's legitimate credit windows, filled that queue until the whole
  // tunnel was cut with "overflow" instead of being slowed down.
  it('a rate-limited relay stops reading the egress rather than overflowing its queue', async () => {
    const bucket = new TokenBucket(64 * 1024, () => 0);
    const maxBufferedBytes = 2 * MiB;
    const { relay, channel, sockets, bytes } = startRelay({ bucket, maxBufferedBytes });
    let end: string | undefined;
    void relay.ended.then((reason) => (end = reason));
    // 1024 packets of credit: up to 16 MiB the consumer is ready to take, over the bucket's rate.
    const consumer = connect(channel, 'local', { downlinkWindow: 1024 });
    await consumer.client.ready;
    // Opened and never read: the consumer's credit alone lets the egress send.
    consumer.client.openStream('127.0.0.1', sourcePort);
    const [socket] = sockets;
    if (socket === undefined) throw new Error('no socket');
    await waitFor(() => end !== undefined || socket.pauses > 0, 'the relay to pause or end');
    expect(end).toBeUndefined();
    const read = await settled(() => total(socket.fromEgress), 'what the relay read');
    expect(read - bytes.down).toBeLessThanOrEqual(maxBufferedBytes);
    expect(end).toBeUndefined();
  });

  // A regression test: the relay once closed the egress socket with `close(1000)` while it had
  // it paused. `ws` then cannot read the egress's close frame, so the socket stayed CLOSING, its
  // TCP connection and the egress's per-IP connection slot held, until ws's 30 s close timer
  // destroyed it. A prompt close takes milliseconds on loopback.
  it('closing the relay while the egress socket is paused releases the socket promptly', async () => {
    const { relay, channel, sockets } = startRelay();
    const consumer = connect(channel, 'local', { downlinkWindow: 4096 });
    await consumer.client.ready;
    const stream = consumer.client.openStream('127.0.0.1', echoPort);
    const ping = randomBytes(16);
    expect(Buffer.compare(await echoThrough(stream, ping), ping)).toBe(0);
    const [socket] = sockets;
    if (socket === undefined) throw new Error('no socket');
    channel.stall();
    echoThrough(stream, randomBytes(8 * MiB)).catch(() => undefined);
    await waitFor(() => socket.pauses > 0, 'the relay to pause the egress socket');
    relay.close();
    await expect(relay.ended).resolves.toBe('closed');
    await waitFor(() => socket.readyState === WebSocket.CLOSED, 'the egress socket to close', {
      timeoutMs: 3_000,
    });
  });

  it('close() ends a live tunnel with "closed", closes both sides, and only once', async () => {
    const { relay, channel, sockets } = startRelay();
    const consumer = connect(channel);
    await consumer.client.ready;
    const data = randomBytes(1024);
    const echoed = await echoThrough(consumer.client.openStream('127.0.0.1', echoPort), data);
    expect(Buffer.compare(echoed, data)).toBe(0);
    const sentBefore = channel.sent.length;

    relay.close();
    relay.close('overflow');
    await expect(relay.ended).resolves.toBe('closed');
    expect(relay.refusal).toBeUndefined();
    expect(channel.closeCalls).toBe(1);
    expect(channel.sent).toHaveLength(sentBefore);
    const [socket] = sockets;
    await waitFor(() => socket?.readyState === WebSocket.CLOSED, 'the egress socket to close');
    await waitFor(() => !consumer.client.isOpen, 'the client to see the tunnel end');
  });

  it('close() before any HELLO ends with "closed", sends nothing and closes the channel', async () => {
    const { relay, channel, sockets } = startRelay();
    relay.close();
    await expect(relay.ended).resolves.toBe('closed');
    expect(relay.refusal).toBeUndefined();
    expect(channel.sent).toHaveLength(0);
    expect(channel.closeCalls).toBe(1);
    expect(sockets).toHaveLength(0);
  });

  it('the consumer closing the channel ends the relay with "closed" and closes the egress socket', async () => {
    const { relay, channel, sockets } = startRelay();
    const consumer = connect(channel);
    await consumer.client.ready;
    channel.consumerClose();
    await expect(relay.ended).resolves.toBe('closed');
    expect(relay.refusal).toBeUndefined();
    const [socket] = sockets;
    await waitFor(() => socket?.readyState === WebSocket.CLOSED, 'the egress socket to close');
  });
});
