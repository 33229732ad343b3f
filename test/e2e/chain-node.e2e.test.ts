/**
 * The whole chain in Node, inside scripts/netns-run: a Consumer reaches a
 * local origin through a Volunteer (both on node-datachannel) and the egress,
 * introduced by the signaling server. Servers run in-process on 10.77.0.1.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { EgressServer } from '../../egress/server.ts';
import { Consumer } from '../../mesh/consumer.ts';
import { MeshError, StreamClosedError, TunnelRefusedError } from '../../mesh/errors.ts';
import { Volunteer, type VolunteerOptions } from '../../mesh/volunteer.ts';
import type { SignalingServer } from '../../signaling/server.ts';
import { waitFor } from '../wait-for.ts';
import { startInProcessServers, type InProcessServers } from './in-process-servers.ts';

let servers: InProcessServers;
let egress: EgressServer;
let signaling: SignalingServer;
let origin: HttpServer;
let echo: Server;
let originPort: number;
let echoPort: number;
const running: Array<{ stop(): Promise<void> }> = [];

function listen(server: Server | HttpServer): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

beforeAll(async () => {
  origin = createHttpServer((req, res) => {
    const size = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('size') ?? '0');
    const body = randomBytes(size);
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'x-sha256': createHash('sha256').update(body).digest('hex'),
    });
    res.end(body);
  });
  originPort = await listen(origin);
  echo = createTcpServer((socket) => socket.pipe(socket));
  echoPort = await listen(echo);
  servers = await startInProcessServers({
    allow: [`127.0.0.1:${originPort}`, `127.0.0.1:${echoPort}`],
  });
  ({ egress, signaling } = servers);
});

afterAll(async () => {
  await Promise.all(running.map((r) => r.stop()));
  await servers.close();
  origin.close();
  echo.close();
});

async function volunteer(options: Partial<VolunteerOptions> = {}): Promise<Volunteer> {
  const v = new Volunteer({
    signaling: signaling.url,
    kind: 'node',
    nat: 'unrestricted',
    iceServers: [],
    slots: 4,
    ...options,
  });
  running.push(v);
  await v.start();
  return v;
}

async function consumer(volunteers: number): Promise<Consumer> {
  const c = new Consumer({ signaling: signaling.url, iceServers: [], volunteers });
  running.push(c);
  await c.start();
  return c;
}

describe('consumer → volunteer → egress → origin (Node)', () => {
  it('fetches through a volunteer, byte-exact, and streams TCP', async () => {
    const v = await volunteer();
    const connections: boolean[] = [];
    v.on('connection', ({ open }) => connections.push(open));
    const c = await consumer(1);
    const response = await c.fetch(
      new Request(`http://127.0.0.1:${originPort}/?size=${4 * 1024 * 1024}`),
      20_000,
    );
    const body = Buffer.from(await response.arrayBuffer());
    expect(body.length).toBe(4 * 1024 * 1024);
    expect(createHash('sha256').update(body).digest('hex')).toBe(response.headers.get('x-sha256'));
    expect(c.status).toMatchObject({ volunteers: 1, egress: 'local' });
    expect(connections).toEqual([true]);

    const stream = await c.connect('127.0.0.1', echoPort);
    const data = randomBytes(256 * 1024);
    void stream.writable.getWriter().write(new Uint8Array(data));
    const reader = stream.readable.getReader();
    const chunks: Uint8Array[] = [];
    let length = 0;
    while (length < data.length) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      length += value.length;
    }
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
    await c.stop();
    await waitFor(() => connections.length === 2, 'the volunteer to see the consumer leave');
    expect(connections).toEqual([true, false]);
    await v.stop();
    expect(v.state).toBe('off');
  });

  it('replaces a lost volunteer; streams on it fail with a clear error', async () => {
    const a = await volunteer();
    const b = await volunteer();
    const c = await consumer(2);
    await waitFor(() => c.status.volunteers === 2, 'two tunnels');
    // One after the other, so the least-busy rule puts one stream on each tunnel.
    const streams = [
      await c.connect('127.0.0.1', echoPort),
      await c.connect('127.0.0.1', echoPort),
    ];
    const pending = streams.map((s) =>
      s.readable
        .getReader()
        .read()
        .then(
          () => null,
          (e: unknown) => e,
        ),
    );
    await a.stop();
    // One of the two streams was on a's tunnel: it fails, it does not hang.
    const failures = await Promise.race([
      Promise.any(pending.map((p) => p.then((e) => (e ? e : Promise.reject(new Error()))))),
      new Promise((_, reject) => setTimeout(() => reject(new Error('hang')), 15_000)),
    ]);
    expect(failures).toBeInstanceOf(StreamClosedError);
    // New requests still work through b.
    const response = await c.fetch(
      new Request(`http://127.0.0.1:${originPort}/?size=1000`),
      10_000,
    );
    expect((await response.arrayBuffer()).byteLength).toBe(1000);
    await c.stop();
    await b.stop();
  });

  it('a volunteer that cannot reach the egress refuses with a reason; the consumer tries another', async () => {
    // A port with nobody listening: the volunteer's WebSocket to the egress fails to open.
    const closed = createTcpServer();
    const closedPort = await listen(closed);
    closed.close();
    const broken = await volunteer({
      openSocket: (url) => new WebSocket(url.replace(`:${egress.port}/`, `:${closedPort}/`)),
    });
    const refusals: string[] = [];
    broken.on('refused', ({ reason }) => refusals.push(reason));
    const c = await consumer(1);
    const errors: Error[] = [];
    c.on('error', ({ error }) => errors.push(error));
    await waitFor(() => errors.some((e) => e instanceof TunnelRefusedError), 'a refusal');
    const refused = errors.find((e) => e instanceof TunnelRefusedError);
    expect(refused).toMatchObject({ code: 'ERR_TUNNEL_REFUSED', reason: 'egress-unreachable' });
    expect(refused).toBeInstanceOf(MeshError);
    expect(refusals).toContain('egress-unreachable');
    expect(broken.refusals['egress-unreachable']).toBeGreaterThan(0);
    expect(c.status.volunteers).toBe(0);
    expect(c.status.problem).toContain('egress-unreachable');
    // Like any failed volunteer: the consumer keeps asking and gets a tunnel through another.
    await volunteer();
    await waitFor(() => c.status.volunteers === 1, 'a tunnel through the working volunteer', {
      timeoutMs: 30_000,
    });
    const response = await c.fetch(
      new Request(`http://127.0.0.1:${originPort}/?size=1000`),
      10_000,
    );
    expect((await response.arrayBuffer()).byteLength).toBe(1000);
    await c.stop();
  });
});
