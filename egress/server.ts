/**
 * A stand-alone egress: an `http.Server` with the egress service mounted at `/wisp/`,
 * `/tunnel/` and `/metrics`, and 404 for everything else.
 */
import type { Server } from 'node:http';
import { closeServer, listen } from '../server-kit/listen.ts';
import { createGuardedServer } from '../server-kit/http-boundary.ts';
import type { EgressOptions } from './config.ts';
import { createEgressService, type EgressService } from './service.ts';

export interface EgressServerOptions extends EgressOptions {
  readonly host?: string;
  /** 0 picks a free port; `url` tells which. */
  readonly port?: number;
}

export interface EgressServer {
  readonly server: Server;
  readonly service: EgressService;
  /** `http://host:port/`; the endpoints are `wisp/`, `tunnel/` and `metrics` under it. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startEgressServer(options: EgressServerOptions): Promise<EgressServer> {
  const service = createEgressService(options);
  const server = createGuardedServer({
    request(req, res, url) {
      if (!service.handleRequest(req, res, url)) res.writeHead(404).end();
    },
    upgrade(req, socket, head, url) {
      if (!service.handleUpgrade(req, socket, head, url)) {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      }
    },
    fault: (site, error) => service.fault(site, error),
    refused: (reason) => service.refused(reason),
  });
  const host = options.host ?? '127.0.0.1';
  const port = await listen(server, host, options.port ?? 8000);
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    server,
    service,
    port,
    url: `http://${urlHost}:${port}/`,
    async close() {
      await service.close();
      await closeServer(server);
    },
  };
}
