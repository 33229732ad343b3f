/**
 * The local origins the WASM clients reach through Wisp: one handler served over HTTP and
 * over HTTPS (a certificate from the test CA), all on 127.0.0.1, port 0.
 */
import { createHash } from 'node:crypto';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type RequestListener,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Server } from 'node:net';
import { DOWNLOAD_BYTES, DOWNLOAD_SEED, HELLO, patternBytes } from './cases.ts';

export interface InteropOrigin {
  /** `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`. */
  readonly url: string;
  readonly port: number;
  /** TCP connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

const download = Buffer.from(patternBytes(DOWNLOAD_BYTES, DOWNLOAD_SEED));

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The digest and length a byte-exact transfer must report. */
export function digestOf(bytes: Uint8Array): { length: number; sha256: string } {
  return { length: bytes.length, sha256: sha256(bytes) };
}

const handler: RequestListener = (req: IncomingMessage, res: ServerResponse) => {
  const path = new URL(req.url ?? '/', 'http://origin').pathname;
  if (req.method === 'GET' && path === '/hello') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end(HELLO);
  } else if (req.method === 'GET' && path.startsWith('/n/')) {
    // A short delay, so concurrent requests overlap at the origin.
    setTimeout(
      () => res.writeHead(200, { 'content-type': 'text/plain' }).end(`reply ${path.slice(3)}`),
      50,
    );
  } else if (req.method === 'GET' && path === '/download') {
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': download.length,
    });
    res.end(download);
  } else if (req.method === 'POST' && path === '/upload') {
    const hash = createHash('sha256');
    let length = 0;
    req.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      length += chunk.length;
    });
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ length, sha256: hash.digest('hex') }));
    });
  } else {
    res.writeHead(404).end('not found');
  }
};

async function listen(server: Server, scheme: 'http' | 'https'): Promise<InteropOrigin> {
  let connections = 0;
  const sockets = new Set<Socket>();
  server.on(scheme === 'https' ? 'secureConnection' : 'connection', () => connections++);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    port,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

export function startHttpOrigin(): Promise<InteropOrigin> {
  return listen(createHttpServer(handler), 'http');
}

export function startHttpsOrigin(tls: { key: string; cert: string }): Promise<InteropOrigin> {
  return listen(createHttpsServer({ key: tls.key, cert: tls.cert }, handler), 'https');
}
