/**
 * A local WebSocket origin for tests (`ws` server on 127.0.0.1, port 0), plain or over TLS. What
 * it does depends on the path:
 *
 * - `/echo`: echoes every message with its type;
 * - `/forbidden`: refuses the upgrade with 403 and an `x-why` header;
 * - `/bye`: sends `hello`, then closes with 4001 "bye";
 * - `/big`: sends one message of 1 MiB + 1 bytes, over the egress's limit;
 * - `/flood`: sends 64 KiB binary messages up to `floodBytes`, honouring backpressure;
 * - `/deaf`: never reads (its socket is paused), so a sender to it meets backpressure.
 *
 * It picks the subprotocol `chat.v2` if offered, else `chat.v1`, else none; it adds
 * `Set-Cookie: origin=1` to every 101; it records each handshake's headers and each close it
 * receives.
 */
import { createServer as createHttpServer, type IncomingHttpHeaders } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { TestCertificate } from './tls-certificate.ts';

const FLOOD_CHUNK = 64 * 1024;
const FLOOD_HIGH_WATER = 1024 * 1024;

export interface Handshake {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
}

export interface WebSocketOrigin {
  readonly port: number;
  readonly handshakes: Handshake[];
  /** Close frames received from clients: code and reason. */
  readonly closes: Array<{ code: number; reason: string }>;
  /** Bytes of flood messages the socket has taken (on the latest `/flood` connection). */
  flooded(): number;
  /** True while the latest flood waits for its socket to drain. */
  floodStalled(): boolean;
  /** Resolves once `closes` has `count` entries. */
  closesReach(count: number): Promise<void>;
  close(): Promise<void>;
}

export async function startWebSocketOrigin(
  options: { tls?: TestCertificate; floodBytes?: number } = {},
): Promise<WebSocketOrigin> {
  const server =
    options.tls === undefined
      ? createHttpServer()
      : createHttpsServer({ key: options.tls.key, cert: options.tls.cert });
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  const handshakes: Handshake[] = [];
  const closes: Array<{ code: number; reason: string }> = [];
  const closeWatchers: Array<() => void> = [];
  let flooded = 0;
  let floodStalled = false;
  const floodBytes = options.floodBytes ?? 200 * 1024 * 1024;

  const wss = new WebSocketServer({
    server,
    maxPayload: 4 * 1024 * 1024,
    handleProtocols: (protocols) =>
      protocols.has('chat.v2') ? 'chat.v2' : protocols.has('chat.v1') ? 'chat.v1' : false,
    verifyClient: (info, callback) => {
      if (info.req.url === '/forbidden') callback(false, 403, 'Forbidden', { 'x-why': 'no' });
      else callback(true);
    },
  });
  wss.on('headers', (headers) => headers.push('Set-Cookie: origin=1'));
  wss.on('connection', (ws: WebSocket, req) => {
    const path = req.url ?? '/';
    handshakes.push({ path, headers: req.headers });
    ws.on('error', () => undefined);
    ws.on('close', (code, reason) => {
      closes.push({ code, reason: reason.toString() });
      for (const watch of closeWatchers.splice(0)) watch();
    });
    if (path === '/echo') {
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    } else if (path === '/bye') {
      ws.send('hello');
      ws.close(4001, 'bye');
    } else if (path === '/big') {
      ws.send(Buffer.alloc(1024 * 1024 + 1, 0x61), { binary: true });
    } else if (path === '/deaf') {
      ws.pause();
    } else if (path === '/flood') {
      flooded = 0;
      const chunk = Buffer.alloc(FLOOD_CHUNK, 0x5a);
      let sent = 0;
      const pump = (): void => {
        floodStalled = false;
        while (sent < floodBytes && ws.readyState === ws.OPEN) {
          if (ws.bufferedAmount > FLOOD_HIGH_WATER) {
            floodStalled = true;
            setTimeout(pump, 20);
            return;
          }
          sent += chunk.length;
          ws.send(chunk, { binary: true }, (err) => {
            if (err === undefined || err === null) flooded += chunk.length;
          });
        }
      };
      pump();
    }
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    handshakes,
    closes,
    flooded: () => flooded,
    floodStalled: () => floodStalled,
    closesReach: (count) =>
      new Promise<void>((resolve) => {
        const check = (): void => {
          if (closes.length >= count) resolve();
          else closeWatchers.push(check);
        };
        check();
      }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        for (const socket of sockets) socket.destroy();
        wss.close();
        server.close(() => resolve());
      }),
  };
}
