/** Local origins for egress tests; all listen on 127.0.0.1, port 0. */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface Origin {
  readonly port: number;
  close(): Promise<void>;
}

function portOf(server: Server | HttpServer): number {
  return (server.address() as AddressInfo).port;
}

async function listen(server: Server | HttpServer): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return portOf(server);
}

function closer(server: Server | HttpServer, sockets: Set<Socket>): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
}

function tracked(server: Server | HttpServer): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  return sockets;
}

/** Echoes every byte back. */
export async function startEchoOrigin(): Promise<Origin> {
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.pipe(socket);
  });
  const sockets = tracked(server);
  return { port: await listen(server), close: closer(server, sockets) };
}

/** Writes `total` bytes to whoever connects, honouring backpressure; reports what it wrote. */
export async function startFloodOrigin(
  total: number,
): Promise<Origin & { written(): number; stalled(): boolean }> {
  let written = 0;
  let waiting = false;
  const chunk = Buffer.alloc(64 * 1024, 0x5a);
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    const pump = (): void => {
      waiting = false;
      while (written < total) {
        const part = chunk.subarray(0, Math.min(chunk.length, total - written));
        written += part.length;
        if (!socket.write(part)) {
          waiting = true;
          socket.once('drain', pump);
          return;
        }
      }
      socket.end();
    };
    pump();
  });
  const sockets = tracked(server);
  return {
    port: await listen(server),
    close: closer(server, sockets),
    written: () => written,
    stalled: () => waiting,
  };
}

export type HttpHandler = Parameters<typeof createHttpServer>[1] & {};

export async function startHttpOrigin(handler: HttpHandler): Promise<Origin> {
  const server = createHttpServer(handler);
  const sockets = tracked(server);
  return { port: await listen(server), close: closer(server, sockets) };
}

export { patternBytes } from '../../test/pattern-bytes.ts';
