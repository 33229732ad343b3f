/**
 * A GET-only HTTP server on 127.0.0.1 (port 0) for a fixed table of files, recording every path
 * asked for; `close()` drops open connections too. For the interop tests' pages and origins.
 */
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ServedFile {
  readonly body: Buffer | string;
  readonly type: string;
}

export interface FileServer {
  /** `http://127.0.0.1:PORT/` */
  readonly url: string;
  readonly port: number;
  /** Every path requested, in order. */
  readonly requests: string[];
  close(): Promise<void>;
}

export async function serveFiles(files: ReadonlyMap<string, ServedFile>): Promise<FileServer> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://files').pathname;
    requests.push(path);
    const file = files.get(path);
    if (file === undefined || req.method !== 'GET') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' }).end(file.body);
  });
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
