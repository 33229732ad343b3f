/**
 * mesh's TunnelClient against the real egress over a real WebSocket to
 * /tunnel/ (no volunteer in between: it only copies messages 1:1).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startEgressServer, type EgressServer } from '../../egress/server.ts';
import { StreamClosedError } from '../errors.ts';
import { TunnelClient, type TunnelClientOptions } from '../tunnel-client.ts';
import { generateKeyPair } from '../../protocol/noise/crypto-suite.ts';
import { waitFor } from '../../test/wait-for.ts';
import { readAll } from './read-all.ts';

const key = generateKeyPair();
let egress: EgressServer;
let echo: Server;
let origin: HttpServer;
let echoPort: number;
let originPort: number;

function listening(server: Server | HttpServer): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

beforeAll(async () => {
  echo = createTcpServer((socket) => socket.pipe(socket));
  echoPort = await listening(echo);
  origin = createHttpServer((req, res) => {
    if (req.url === '/gzip') {
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'text/plain' });
      res.end(gzipSync('decoded by the egress'));
      return;
    }
    if (req.url === '/redirect') {
      res.writeHead(302, { location: '/elsewhere' }).end();
      return;
    }
    const hash = createHash('sha256');
    let length = 0;
    req.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      length += chunk.length;
    });
    req.on('end', () => {
      res.writeHead(200, {
        'x-method': req.method ?? '',
        'x-cookie': req.headers.cookie ?? '',
        'set-cookie': ['a=1', 'b=2'],
      });
      res.end(JSON.stringify({ length, sha256: hash.digest('hex') }));
    });
  });
  originPort = await listening(origin);
  egress = await startEgressServer({
    host: '127.0.0.1',
    port: 0,
    admission: 'off',
    key,
    allow: [`127.0.0.1:${echoPort}`, `127.0.0.1:${originPort}`],
    log: 'silent',
  });
});

afterAll(async () => {
  await egress.close();
  echo.close();
  origin.close();
});

/**
 * What a volunteer in the middle would do to the messages: `blackhole` drops them
 * both ways without closing anything, as a relay that died without a goodbye.
 */
interface Path {
  blackhole: boolean;
  /** Message sizes the client sent and received, in order. */
  readonly sent: number[];
  readonly received: number[];
}

async function tunnel(
  options: Partial<Pick<TunnelClientOptions, 'downlinkWindow' | 'keepalive'>> = {},
  path: Path = { blackhole: false, sent: [], received: [] },
): Promise<TunnelClient> {
  const ws = new WebSocket(`ws://127.0.0.1:${egress.port}/tunnel/`);
  ws.binaryType = 'nodebuffer';
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const client = new TunnelClient(
    {
      send: (message) => {
        if (path.blackhole) return;
        path.sent.push(message.length);
        ws.send(message);
      },
      close: () => ws.close(),
    },
    { egressPublicKey: key.publicKey, ...options },
  );
  ws.on('message', (data: Buffer) => {
    if (path.blackhole) return;
    path.received.push(data.length);
    client.receive(new Uint8Array(data));
  });
  ws.on('close', () => client.transportClosed());
  await client.ready;
  return client;
}

describe('TunnelClient through the egress', () => {
  it('carries a TCP stream byte-exact (1 MiB echo)', async () => {
    const client = await tunnel();
    const stream = client.openStream('127.0.0.1', echoPort);
    const data = randomBytes(1024 * 1024);
    const writer = stream.writable.getWriter();
    const sent = writer.write(new Uint8Array(data));
    const echoed = await readAll(stream.readable, data.length);
    await sent;
    expect(echoed.equals(data)).toBe(true);
    client.close();
  });

  it('runs 20 streams at once over one tunnel', async () => {
    const client = await tunnel();
    const results = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const stream = client.openStream('127.0.0.1', echoPort);
        const data = randomBytes(64 * 1024 + i);
        const writer = stream.writable.getWriter();
        void writer.write(new Uint8Array(data));
        return (await readAll(stream.readable, data.length)).equals(data);
      }),
    );
    expect(results.every(Boolean)).toBe(true);
    client.close();
  });

  it('keeps flowing with a small downlink window (credits are granted as the reader reads)', async () => {
    const client = await tunnel({ downlinkWindow: 4 });
    const stream = client.openStream('127.0.0.1', echoPort);
    const data = randomBytes(2 * 1024 * 1024);
    void stream.writable.getWriter().write(new Uint8Array(data));
    expect((await readAll(stream.readable, data.length)).equals(data)).toBe(true);
    client.close();
  });

  it('fetches: GET, POST with a 5 MiB body, a redirect returned, gzip decoded', async () => {
    const client = await tunnel();
    const base = `http://127.0.0.1:${originPort}`;
    const get = await client.fetch(new Request(`${base}/`));
    expect(get.status).toBe(200);
    expect(get.headers.get('x-method')).toBe('GET');
    expect(get.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(await get.json()).toMatchObject({ length: 0 });

    const body = randomBytes(5 * 1024 * 1024);
    const post = await client.fetch(new Request(`${base}/upload`, { method: 'POST', body }));
    expect(await post.json()).toEqual({
      length: body.length,
      sha256: createHash('sha256').update(body).digest('hex'),
    });

    const redirect = await client.fetch(new Request(`${base}/redirect`, { redirect: 'manual' }));
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toBe('/elsewhere');

    const gzip = await client.fetch(new Request(`${base}/gzip`));
    expect(gzip.headers.get('content-encoding')).toBeNull();
    expect(await gzip.text()).toBe('decoded by the egress');
    client.close();
  });

  it('exchanges heads as lists of pairs: Cookie goes out, every Set-Cookie comes back', async () => {
    const client = await tunnel();
    const response = await client.exchange({
      method: 'GET',
      url: `http://127.0.0.1:${originPort}/`,
      headers: [['cookie', 'session=abc; theme=dark']],
      body: null,
    });
    expect(response.status).toBe(200);
    const headers = response.headers.map(([name, value]) => [name.toLowerCase(), value]);
    expect(headers).toContainEqual(['x-cookie', 'session=abc; theme=dark']);
    expect(headers.filter(([name]) => name === 'set-cookie')).toEqual([
      ['set-cookie', 'a=1'],
      ['set-cookie', 'b=2'],
    ]);
    await response.body?.cancel();
    client.close();
  });

  it('reports a refused destination as a stream error with the egress reason', async () => {
    const client = await tunnel();
    const stream = client.openStream('127.0.0.1', 9); // not on the allow list
    const reader = stream.readable.getReader();
    const err = await reader.read().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StreamClosedError);
    expect((err as StreamClosedError).reasonName).toBe('blocked');
    // The tunnel itself is fine.
    expect(client.isOpen).toBe(true);
    const ok = await client.fetch(new Request(`http://127.0.0.1:${originPort}/`));
    expect(ok.status).toBe(200);
    client.close();
  });

  it('fails the handshake cleanly with a wrong egress key', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${egress.port}/tunnel/`);
    await new Promise((resolve) => ws.once('open', resolve));
    const client = new TunnelClient(
      { send: (m) => ws.send(m), close: () => ws.close() },
      { egressPublicKey: generateKeyPair().publicKey },
    );
    ws.on('message', (data: Buffer) => client.receive(new Uint8Array(data)));
    ws.on('close', () => client.transportClosed());
    const failure = await client.ready.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((failure as { code?: string } | undefined)?.code).toMatch(/^ERR_TUNNEL/);
    expect(client.isOpen).toBe(false);
    expect(() => client.openStream('127.0.0.1', echoPort)).toThrow();
  });

  it('fails open streams with a clear error when the tunnel goes away', async () => {
    const client = await tunnel();
    const stream = client.openStream('127.0.0.1', echoPort);
    const reader = stream.readable.getReader();
    const pending = reader.read();
    client.close();
    await expect(pending).rejects.toBeInstanceOf(StreamClosedError);
  });
});

describe('TunnelClient liveness probes', () => {
  /** The size of an ack-only frame: kind, seq, ack, tag. */
  const EMPTY_FRAME = 25;
  const keepalive = { idleMs: 100, timeoutMs: 400 };

  it('keeps an idle tunnel open: every probe is answered by the egress', async () => {
    const path: Path = { blackhole: false, sent: [], received: [] };
    const client = await tunnel({ keepalive }, path);
    const answered = (): number => path.received.filter((size) => size === EMPTY_FRAME).length;
    // Five answered probes span more than timeoutMs of idling, so the answers kept it open.
    await waitFor(() => answered() >= 5, 'five answered probes');
    expect(client.isOpen).toBe(true);
    const probes = path.sent.filter((size) => size === EMPTY_FRAME).length;
    const answers = answered();
    expect(probes).toBeGreaterThanOrEqual(5);
    // The last probe's answer may still be on its way.
    expect(answers).toBeGreaterThanOrEqual(probes - 1);
    expect(answers).toBeLessThanOrEqual(probes);
    const stream = client.openStream('127.0.0.1', echoPort);
    const writer = stream.writable.getWriter();
    await writer.write(new TextEncoder().encode('still here'));
    expect((await readAll(stream.readable, 10)).toString()).toBe('still here');
    client.close();
  });

  it('gives up a tunnel whose path went silent: ERR_TUNNEL_TIMEOUT, and its streams fail', async () => {
    const path: Path = { blackhole: false, sent: [], received: [] };
    const client = await tunnel({ keepalive }, path);
    let failure: Error | undefined;
    client.onclose = (error) => {
      failure = error;
    };
    const stream = client.openStream('127.0.0.1', echoPort);
    const pending = stream.readable.getReader().read();
    path.blackhole = true;
    const silentAt = Date.now();
    // A probe is out and unanswered: new streams should go elsewhere.
    await waitFor(() => !client.responsive, 'an unanswered probe');
    expect(client.isOpen).toBe(true);
    await expect(pending).rejects.toBeInstanceOf(StreamClosedError);
    expect(Date.now() - silentAt).toBeGreaterThanOrEqual(keepalive.timeoutMs);
    expect(client.isOpen).toBe(false);
    expect((failure as { code?: string } | undefined)?.code).toBe('ERR_TUNNEL_TIMEOUT');
  });

  it('refuses a keepalive without positive times', () => {
    expect(
      () =>
        new TunnelClient(
          { send: () => undefined, close: () => undefined },
          { egressPublicKey: key.publicKey, keepalive: { idleMs: 0, timeoutMs: 100 } },
        ),
    ).toThrow(RangeError);
  });
});
