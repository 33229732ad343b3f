/**
 * Packet sizes on `/wisp/`: uplink DATA packets larger than 64 KiB (as WASM clients send them)
 * within the connection's uplink byte bound, a stream that overruns the bound closed alone,
 * and downlink socket reads carried whole, one DATA packet per 64 KiB read.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { AddressInfo } from 'node:net';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_WISP_PACKET_BYTES, WISP_DATA_HEADER_BYTES } from '../../protocol/limits.ts';
import { decodeWispPacket, encodeWispPacket } from '../../protocol/wisp-codec.ts';
import { WISP_CLOSE_REASONS, type WispPacket } from '../../protocol/wisp-types.ts';
import { generateKeyPair } from '../../protocol/noise/crypto-suite.ts';
import { resolveEgressConfig } from '../config.ts';
import { startTestEgress, type TestEgress } from './harness.ts';
import { patternBytes, startEchoOrigin, type Origin } from './origins.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const BIG = 64 * MiB;

/** A TCP origin that keeps what each connection sends; `paused` origins never read. */
interface SinkOrigin extends Origin {
  /** Resolves with the first `length` bytes the next connection sends. */
  next(length: number): Promise<Buffer>;
}

async function startSinkOrigin(options: { paused?: boolean } = {}): Promise<SinkOrigin> {
  const sockets = new Set<Socket>();
  const waiting: Array<(socket: Socket) => void> = [];
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => sockets.delete(socket));
    if (options.paused === true) socket.pause();
    waiting.shift()?.(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    next: (length) =>
      new Promise((resolve) => {
        waiting.push((socket) => {
          const chunks: Buffer[] = [];
          let have = 0;
          socket.on('data', (chunk: Buffer) => {
            chunks.push(chunk);
            have += chunk.length;
            if (have >= length) resolve(Buffer.concat(chunks).subarray(0, length));
          });
        });
      }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A raw Wisp v1 client on `ws`: encodes packets of any size, records what comes back. */
class RawWisp {
  readonly ws: WebSocket;
  readonly packets: WispPacket[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly #listeners = new Set<() => void>();

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data: Buffer) => {
      this.packets.push(decodeWispPacket(data, { maxBytes: BIG }));
      for (const listener of this.#listeners) listener();
    });
    this.closed = new Promise((resolve) =>
      ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
  }

  static async connect(url: string): Promise<RawWisp> {
    const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: BIG });
    const client = new RawWisp(ws);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    await client.until((p) => p.type === 'continue' && p.streamId === 0);
    return client;
  }

  send(packet: WispPacket): void {
    this.ws.send(encodeWispPacket(packet, { maxBytes: BIG }));
  }

  connect(streamId: number, port: number): void {
    this.send({ type: 'connect', streamId, streamType: 'tcp', hostname: '127.0.0.1', port });
  }

  data(streamId: number, payload: Uint8Array): void {
    this.send({ type: 'data', streamId, payload });
  }

  /** Resolves with the first packet (received so far or later) that `match` accepts. */
  until(match: (packet: WispPacket) => boolean): Promise<WispPacket> {
    return new Promise((resolve) => {
      const check = (): boolean => {
        const found = this.packets.find(match);
        if (found === undefined) return false;
        this.#listeners.delete(listener);
        resolve(found);
        return true;
      };
      const listener = (): void => void check();
      this.#listeners.add(listener);
      check();
    });
  }

  closeOf(streamId: number): Promise<number> {
    return this.until((p) => p.type === 'close' && p.streamId === streamId).then((p) =>
      p.type === 'close' ? p.reason : -1,
    );
  }

  /** Concatenated downlink payload of `streamId` once it holds `length` bytes. */
  async received(streamId: number, length: number): Promise<Buffer> {
    const payloads = (): Uint8Array[] =>
      this.packets.flatMap((p) =>
        p.type === 'data' && p.streamId === streamId ? [p.payload] : [],
      );
    let have = 0;
    let seen = 0;
    await this.until(() => {
      for (; seen < this.packets.length; seen++) {
        const p = this.packets[seen];
        if (p?.type === 'data' && p.streamId === streamId) have += p.payload.length;
      }
      return have >= length;
    });
    return Buffer.concat(payloads());
  }
}

let egress: TestEgress;
let sink: SinkOrigin;
let echo: Origin;

beforeAll(async () => {
  sink = await startSinkOrigin();
  echo = await startEchoOrigin();
  egress = await startTestEgress({ allow: [`127.0.0.1:${sink.port}`, `127.0.0.1:${echo.port}`] });
});

afterAll(async () => {
  await egress.close();
  await sink.close();
  await echo.close();
});

describe('uplink packets over 64 KiB', () => {
  for (const [name, length] of [
    ['a 64 KiB + 5 byte packet', 64 * KiB + 5],
    ['a 4 MiB packet', 4 * MiB],
  ] as const) {
    it(`accepts ${name} and delivers it byte-exact`, async () => {
      const client = await RawWisp.connect(egress.wsUrl('wisp/'));
      const payload = patternBytes(length, length);
      const arrived = sink.next(length);
      client.connect(1, sink.port);
      client.data(1, payload);
      expect(Buffer.compare(await arrived, payload)).toBe(0);
      expect(client.ws.readyState).toBe(WebSocket.OPEN);
      client.ws.close();
    });
  }
});

describe("the connection's uplink byte bound", () => {
  const bound = 2 * MiB;
  let bounded: TestEgress;
  let blackHole: SinkOrigin;

  beforeAll(async () => {
    blackHole = await startSinkOrigin({ paused: true });
    bounded = await startTestEgress({
      allow: [`127.0.0.1:${blackHole.port}`, `127.0.0.1:${echo.port}`],
      limits: { uplinkBufferBytes: bound },
    });
  });

  afterAll(async () => {
    await bounded.close();
    await blackHole.close();
  });

  it('closes only the stream that overruns it (0x49); the others keep working', async () => {
    const client = await RawWisp.connect(bounded.wsUrl('wisp/'));
    client.connect(1, echo.port);
    client.connect(2, blackHole.port);
    // Within the packet credits (128) but far beyond what the kernel and the bound can hold.
    for (let i = 0; i < 64; i++) client.data(2, new Uint8Array(600 * KiB));
    expect(await client.closeOf(2)).toBe(WISP_CLOSE_REASONS.throttled);
    const bytes = patternBytes(300 * KiB, 3);
    client.data(1, bytes);
    expect(
      Buffer.compare((await client.received(1, bytes.length)).subarray(0, bytes.length), bytes),
    ).toBe(0);
    // The closed stream's bytes went back to the connection: a packet of most of the bound fits.
    const large = patternBytes(bound - 1000, 4);
    client.connect(3, echo.port);
    client.data(3, large);
    expect(Buffer.compare(await client.received(3, large.length), large)).toBe(0);
    expect(client.packets.some((p) => p.type === 'close' && p.streamId !== 2)).toBe(false);
    expect(client.ws.readyState).toBe(WebSocket.OPEN);
    client.ws.close();
  });

  it('grants CONTINUE credits that fit the stream byte budget', async () => {
    // The default egress: 16 MiB per connection, 2 MiB per stream.
    const client = await RawWisp.connect(egress.wsUrl('wisp/'));
    client.connect(1, echo.port);
    // 128 KiB packets: the 2 MiB budget fits 16 of them, so no grant exceeds 16.
    for (let i = 0; i < 80; i++) client.data(1, patternBytes(128 * KiB, i));
    await client.received(1, 80 * 128 * KiB);
    const grants = client.packets.flatMap((p) =>
      p.type === 'continue' && p.streamId === 1 ? [p.bufferRemaining] : [],
    );
    expect(grants.length).toBeGreaterThan(0);
    expect(Math.max(...grants)).toBeLessThanOrEqual(16);
    client.ws.close();
  });

  it('closes the connection (1009) for a message longer than the bound plus the header', async () => {
    const client = await RawWisp.connect(bounded.wsUrl('wisp/'));
    client.connect(1, echo.port);
    client.data(1, new Uint8Array(bound + 1));
    expect((await client.closed).code).toBe(1009);
  });

  it('accepts a packet of exactly the bound', async () => {
    const client = await RawWisp.connect(bounded.wsUrl('wisp/'));
    const payload = patternBytes(bound, 5);
    client.connect(1, echo.port);
    client.data(1, payload);
    expect(Buffer.compare(await client.received(1, bound), payload)).toBe(0);
    client.ws.close();
  });
});

/** A child process: its stdout's first line matching `ready`, and a way to stop it. */
async function startChild(
  args: string[],
  ready: RegExp,
): Promise<{ line: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, BU_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (text) => {
      if (ready.test(text)) resolve(text);
    });
    void exited.then(() => reject(new Error(`${args.join(' ')} exited early`)));
  });
  return {
    line,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * An origin that sends `total` bytes to whoever connects, in its own process: in the test's
 * process its writes, like the egress's reads, would be paced by the client's work rather than
 * by the kernel, and the reads the egress sees would be cut short.
 */
async function startOriginProcess(total: number): Promise<{ port: number; stop(): Promise<void> }> {
  const script = `
    const server = require('node:net').createServer((s) => { s.on('error', () => {}); s.end(Buffer.alloc(${total}, 0x5a)); });
    server.listen(0, '127.0.0.1', () => console.log('origin ' + server.address().port));
    process.on('SIGTERM', () => process.exit(0));`;
  const child = await startChild(['-e', script], /^origin \d+$/);
  return { port: Number(child.line.split(' ')[1]), stop: () => child.stop() };
}

/** `bu egress` in its own process, for the same reason (TypeScript through the bench's loader). */
async function startEgressProcess(allow: string): Promise<{ wisp: string; stop(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'bu-large-packets-'));
  const root = new URL('../../', import.meta.url).pathname;
  const child = await startChild(
    [
      '--import',
      join(root, 'bench/register-ts.mjs'),
      join(root, 'cli/bu.ts'),
      'egress',
      '--no-admission',
      '--port',
      '0',
      '--key',
      join(dir, 'key.json'),
      '--allow',
      allow,
    ],
    /"event":"listening"/,
  );
  return {
    wisp: (JSON.parse(child.line) as { wisp: string }).wisp,
    stop: async () => {
      await child.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

describe('downlink packing', () => {
  it('sends a 16 MiB download in about 257 DATA packets, each 64 KiB read whole', async () => {
    const total = 16 * MiB;
    const origin = await startOriginProcess(total);
    const local = await startEgressProcess(`127.0.0.1:${origin.port}`);
    try {
      const client = await RawWisp.connect(local.wisp);
      // A client slower than the origin (a browser behind a real link): reading 10 ms in 20
      // keeps data waiting in the egress's socket, so its reads are full, as in the field.
      const slow = setInterval(() => {
        client.ws.pause();
        setTimeout(() => client.ws.resume(), 10);
      }, 20);
      client.connect(1, origin.port);
      const reason = await client.closeOf(1).finally(() => clearInterval(slow));
      expect(reason).toBe(WISP_CLOSE_REASONS.voluntary);
      const data = client.packets.flatMap((p) =>
        p.type === 'data' && p.streamId === 1 ? [p.payload.length] : [],
      );
      expect(data.reduce((a, b) => a + b, 0)).toBe(total);
      const maxPayload = MAX_WISP_PACKET_BYTES - WISP_DATA_HEADER_BYTES;
      expect(maxPayload).toBe(64 * KiB);
      expect(Math.max(...data)).toBe(maxPayload);
      // One packet per socket read: never a 65,531-byte packet plus a sliver (513 packets per
      // 16 MiB before). 256 when every read is full, as it mostly is; on a busy machine the
      // kernel hands over some short reads (up to 352 seen), which become short packets.
      expect(data.includes(maxPayload - WISP_DATA_HEADER_BYTES)).toBe(false);
      expect(data.length).toBeGreaterThanOrEqual(256);
      console.log(`16 MiB download: ${data.length} DATA packets`);
      expect(data.length).toBeLessThan(400);
      client.ws.close();
    } finally {
      await local.stop();
      await origin.stop();
    }
  }, 30_000);
});

describe('the uplink byte limits as options', () => {
  it('refuses a limit that is not a positive integer', () => {
    const key = generateKeyPair();
    for (const name of ['uplinkBufferBytes', 'uplinkStreamBytes'] as const) {
      for (const value of [0, -1, Number.NaN, 1.5]) {
        expect(() =>
          resolveEgressConfig({ key, admission: 'off', log: 'silent', limits: { [name]: value } }),
        ).toThrow(expect.objectContaining({ code: 'ERR_EGRESS_CONFIG' }));
      }
    }
    expect(
      resolveEgressConfig({
        key,
        admission: 'off',
        log: 'silent',
        limits: { uplinkStreamBytes: 1024 },
      }).limits.uplinkStreamBytes,
    ).toBe(1024);
  });
});
