/** A standalone signaling server: an `http.Server` with only the signaling service on it. */
import type { Server } from 'node:http';
import { closeServer, listen } from '../server-kit/listen.ts';
import { createGuardedServer } from '../server-kit/http-boundary.ts';
import type { SignalingOptions } from './config.ts';
import { sendError } from './http-io.ts';
import { createSignalingService, type SignalingService } from './service.ts';

export interface ListenOptions extends SignalingOptions {
  readonly host?: string;
  /** 0 picks a free port; `url` then tells which. */
  readonly port?: number;
}

export interface SignalingServer {
  readonly server: Server;
  readonly service: SignalingService;
  /** `http://host:port{path}`, with the port actually bound. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startSignalingServer(options: ListenOptions = {}): Promise<SignalingServer> {
  const service = createSignalingService(options);
  try {
    await service.ready;
  } catch (err) {
    await service.close();
    throw err;
  }
  const server = createGuardedServer({
    request(req, res, url) {
      if (!service.handleRequest(req, res, url)) sendError(res, 'not-found', 'no such route');
    },
    upgrade(req, socket, head, url) {
      if (!service.handleUpgrade(req, socket, head, url)) socket.destroy();
    },
    fault: (site, error) => service.fault(site, error),
    refused: (reason) => service.refused(reason),
  });
  const host = options.host ?? '127.0.0.1';
  let port: number;
  try {
    port = await listen(server, host, options.port ?? 9000);
  } catch (err) {
    await service.close();
    throw err;
  }
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    server,
    service,
    url: `http://${shownHost}:${port}${service.settings.path}`,
    port,
    async close() {
      await service.close();
      await closeServer(server);
    },
  };
}
