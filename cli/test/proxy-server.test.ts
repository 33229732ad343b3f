/**
 * The local proxies over real sockets, with `dial` opening a plain TCP connection instead of
 * a tunnel stream: the protocol handling, the error answers and the bounds, without WebRTC.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshError } from '../../mesh/errors.ts';
import type { TunnelStream } from '../../mesh/tunnel-client.ts';
import { createHttpProxy, createSocksProxy, type ProxyOptions } from '../proxy-server.ts';

const servers: (Server | HttpServer)[] = [];
let originPort: number;

function listen(server: Server | HttpServer): Promise<number> {
  servers.push(server);
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

/** A "tunnel" that is just a TCP connection from this process. */
async function tcpDial(host: string, port: number): Promise<TunnelStream> {
  const socket = connect(port, host);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const web = Duplex.toWeb(socket);
  return {
    id: 1,
    readable: web.readable as ReadableStream<Uint8Array>,
    writable: web.writable as WritableStream<Uint8Array>,
  };
}

const noVolunteers = (): Promise<TunnelStream> =>
  Promise.reject(new MeshError('ERR_NO_VOLUNTEERS', 'no volunteer is connected'));

beforeAll(async () => {
  const origin = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () =>
      res.end(
        `${req.method} ${req.url} host=${req.headers.host} conn=${req.headers.connection} body=${body}`,
      ),
    );
  });
  originPort = await listen(origin);
});

afterAll(() => {
  for (const server of servers) server.close();
});

async function proxy(kind: 'http' | 'socks', options: Partial<ProxyOptions> = {}): Promise<number> {
  const all: ProxyOptions = { dial: tcpDial, ...options };
  return listen(kind === 'http' ? createHttpProxy(all) : createSocksProxy(all));
}

/** Sends `bytes`, returns everything the proxy sent until it closed. */
function exchange(port: number, ...messages: (string | Uint8Array)[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('close', () => resolve(Buffer.concat(chunks)));
    socket.on('error', reject);
    for (const message of messages) socket.write(message);
  });
}

describe('HTTP proxy', () => {
  it('forwards an absolute-form request in origin form, with Connection: close', async () => {
    const port = await proxy('http');
    const reply = (
      await exchange(
        port,
        `POST http://127.0.0.1:${originPort}/a?b=1 HTTP/1.1\r\nHost: 127.0.0.1:${originPort}\r\nProxy-Connection: keep-alive\r\nContent-Length: 5\r\n\r\nhello`,
      )
    ).toString();
    expect(reply).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(reply).toContain(`POST /a?b=1 host=127.0.0.1:${originPort} conn=close body=hello`);
  });

  it('tunnels CONNECT', async () => {
    const port = await proxy('http');
    const reply = (
      await exchange(
        port,
        `CONNECT 127.0.0.1:${originPort} HTTP/1.1\r\n\r\nGET /x HTTP/1.1\r\nHost: o\r\nConnection: close\r\n\r\n`,
      )
    ).toString();
    expect(reply).toMatch(/^HTTP\/1\.1 200 Connection Established\r\n/);
    expect(reply).toContain('GET /x host=o');
  });

  it('answers 503 with an explanation when no volunteer is connected', async () => {
    const port = await proxy('http', { dial: noVolunteers });
    const reply = (await exchange(port, 'GET http://example.org/ HTTP/1.1\r\n\r\n')).toString();
    expect(reply).toMatch(/^HTTP\/1\.1 503 Service Unavailable/);
    expect(reply).toContain('no volunteer is connected');
    const connectReply = (
      await exchange(port, 'CONNECT example.org:443 HTTP/1.1\r\n\r\n')
    ).toString();
    expect(connectReply).toMatch(/^HTTP\/1\.1 503/);
  });

  it.each([
    ['origin-form', 'GET / HTTP/1.1\r\n\r\n', 400],
    ['https:// absolute form', 'GET https://example.org/ HTTP/1.1\r\n\r\n', 400],
    ['a bad CONNECT target', 'CONNECT example.org HTTP/1.1\r\n\r\n', 400],
    ['garbage', '\x16\x03\x01\x00\x00\r\n\r\n', 400],
    ['HTTP/2', 'GET http://a/ HTTP/2.0\r\n\r\n', 505],
  ])('refuses %s', async (_what, request, status) => {
    const port = await proxy('http');
    const reply = (await exchange(port, request)).toString();
    expect(reply.startsWith(`HTTP/1.1 ${status} `)).toBe(true);
  });

  it('answers 431 to an endless head and closes', async () => {
    const port = await proxy('http');
    const reply = (
      await exchange(port, `GET http://a/ HTTP/1.1\r\nX: ${'a'.repeat(40_000)}`)
    ).toString();
    expect(reply).toMatch(/^HTTP\/1\.1 431 /);
  });

  it('closes a client that never finishes its head', async () => {
    const port = await proxy('http', { handshakeTimeoutMs: 200 });
    const reply = await exchange(port, 'GET http://a/ HTTP/1.1\r\n');
    expect(reply.length).toBe(0);
  });
});

describe('SOCKS5 proxy', () => {
  const hello = Uint8Array.of(5, 1, 0);
  const connectTo = (port: number): Uint8Array =>
    Uint8Array.of(5, 1, 0, 1, 127, 0, 0, 1, port >> 8, port & 0xff);

  it('connects by IPv4 and by name, passing bytes both ways', async () => {
    const port = await proxy('socks');
    const request = Buffer.from('GET /s HTTP/1.1\r\nHost: o\r\nConnection: close\r\n\r\n');
    const reply = await exchange(port, hello, connectTo(originPort), request);
    expect([...reply.subarray(0, 12)]).toEqual([5, 0, 5, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    expect(reply.subarray(12).toString()).toContain('GET /s host=o');
    const name = Buffer.from('127.0.0.1');
    const byName = await exchange(
      port,
      hello,
      Uint8Array.of(5, 1, 0, 3, name.length, ...name, originPort >> 8, originPort & 0xff),
      request,
    );
    expect(byName[3]).toBe(0);
    expect(byName.subarray(12).toString()).toContain('GET /s host=o');
  });

  it('replies 0x03 when no volunteer is connected', async () => {
    const port = await proxy('socks', { dial: noVolunteers });
    const reply = await exchange(port, hello, connectTo(80));
    expect([...reply]).toEqual([5, 0, 5, 3, 0, 1, 0, 0, 0, 0, 0, 0]);
  });

  it('replies 0x07 to BIND and 0x08 to an unknown address type', async () => {
    const port = await proxy('socks');
    expect((await exchange(port, hello, Uint8Array.of(5, 2, 0, 1, 1, 2, 3, 4, 0, 80)))[3]).toBe(7);
    expect((await exchange(port, hello, Uint8Array.of(5, 1, 0, 7, 1, 2, 3, 4, 0, 80)))[3]).toBe(8);
  });

  it('answers 0xff when only authentication is offered, and closes on garbage', async () => {
    const port = await proxy('socks');
    expect([...(await exchange(port, Uint8Array.of(5, 1, 2)))]).toEqual([5, 0xff]);
    expect((await exchange(port, 'GET / HTTP/1.1\r\n\r\n')).length).toBe(0);
  });
});
