/**
 * The reference Wisp server (@mercuryworkshop/wisp-js 0.5.0) on 127.0.0.1, a port the OS
 * picks, set up as bench/servers/wisp-js-server.mjs is: loopback destinations allowed,
 * logging off, and here one port refused, so the forbidden-destination case has a
 * destination both servers refuse. Its options are module-wide: one per test file (worker).
 */
import { logging, server as wispServer } from '@mercuryworkshop/wisp-js/server';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ReferenceWispServer {
  /** `ws://127.0.0.1:PORT/` */
  readonly wispUrl: string;
  close(): Promise<void>;
}

export async function startReferenceWispServer(
  forbiddenPort: number,
): Promise<ReferenceWispServer> {
  logging.set_level(logging.NONE);
  Object.assign(wispServer.options, { allow_loopback_ips: true, port_blacklist: [forbiddenPort] });
  const http = createServer((_req, res) => res.writeHead(404).end());
  const sockets = new Set<Socket>();
  http.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  http.on('upgrade', (req, socket, head) => wispServer.routeRequest(req, socket, head));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    wispUrl: `ws://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        http.close(() => resolve());
      }),
  };
}
