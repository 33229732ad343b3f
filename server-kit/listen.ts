/** Listening and closing for the Node servers (`bu` commands, egress, signaling). */
import type { Server as HttpServer } from 'node:http';
import type { Server } from 'node:net';

/** Listens on `host:port`; resolves with the port bound (the one picked, for port 0). */
export function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(address !== null && typeof address === 'object' ? address.port : port);
    });
  });
}

/** Stops accepting and ends every open connection; resolves once the server is closed. */
export function closeServer(server: HttpServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
