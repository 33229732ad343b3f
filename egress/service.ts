/**
 * The egress as something to mount on an existing `http.Server`: `bu egress` runs it alone,
 * `bu serve` next to the site and signaling on one port. It answers only its own paths and
 * returns false for everything else.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { MAX_TUNNEL_MESSAGE_BYTES } from '../protocol/limits.ts';
import { addressGroup, clientIp } from '../server-kit/client-address.ts';
import type { BoundaryRefusal, FaultSite } from '../server-kit/http-boundary.ts';
import type { Registry } from 'prom-client';
import { resolveEgressConfig, type EgressOptions } from './config.ts';
import { DestinationPolicy } from './destination-policy.ts';
import type { EndpointShared } from './endpoint-shared.ts';
import { maxWispMessageBytes } from './limits.ts';
import { EgressMetrics } from './metrics.ts';
import { serveTunnel } from './tunnel-endpoint.ts';
import { selectWispSubprotocol, serveWisp } from './wisp-endpoint.ts';
import { WS_CLOSE } from './websocket-message.ts';

export interface EgressPaths {
  readonly wisp: string;
  readonly tunnel: string;
  readonly metrics: string;
}

export const DEFAULT_PATHS: EgressPaths = {
  wisp: '/wisp/',
  tunnel: '/tunnel/',
  metrics: '/metrics',
};

export interface EgressService {
  /**
   * Answers GET on the metrics path (and refuses plain HTTP on the WebSocket paths). `url` is
   * the request target, parsed once by the server's boundary (server-kit/http-boundary.ts).
   */
  handleRequest(req: IncomingMessage, res: ServerResponse, url: URL): boolean;
  /** Takes over WebSocket upgrades on `/wisp/` and `/tunnel/`. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): boolean;
  /** An exception escaped one of our entry points: log it and count it (faults_total). */
  fault(site: FaultSite, error: unknown): void;
  /** The server's boundary refused a client before any handler ran: counted. */
  refused(reason: BoundaryRefusal): void;
  readonly metrics: Registry;
  readonly publicKey: Uint8Array;
  /** Closes every connection (1001) and stops accepting new ones. */
  close(): Promise<void>;
}

function refuseUpgrade(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

export function createEgressService(
  options: EgressOptions,
  paths: EgressPaths = DEFAULT_PATHS,
): EgressService {
  const config = resolveEgressConfig(options);
  const metrics = new EgressMetrics();
  const fault = (site: FaultSite, error: unknown): void => {
    metrics.faults.inc({ site });
    config.log.error('fault', {
      site,
      message: error instanceof Error ? (error.stack ?? error.message) : String(error),
    });
  };
  const shared: EndpointShared = {
    policy: new DestinationPolicy({
      lookup: config.lookup,
      allow: config.allow,
      allowPrivate: config.allowPrivate,
      deniedPorts: config.limits.deniedPorts,
      resolveTimeoutMs: config.limits.connectTimeoutMs,
    }),
    limits: config.limits,
    metrics,
    log: config.log,
    dial: config.dial,
    ca: config.ca,
    fault,
  };
  const wispServer = new WebSocketServer({
    noServer: true,
    // One uplink packet may carry the connection's whole uplink bound; longer messages: 1009.
    maxPayload: maxWispMessageBytes(config.limits),
    perMessageDeflate: false,
    handleProtocols: selectWispSubprotocol,
  });
  const tunnelServer = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_TUNNEL_MESSAGE_BYTES,
    perMessageDeflate: false,
  });
  const perIp = new Map<string, number>();
  const sockets = new Set<WebSocket>();
  let closing = false;

  function release(ip: string): void {
    const left = (perIp.get(ip) ?? 1) - 1;
    if (left <= 0) perIp.delete(ip);
    else perIp.set(ip, left);
  }

  return {
    metrics: metrics.registry,
    publicKey: config.key.publicKey,

    fault,
    refused: (reason) => metrics.connectionsRejected.inc({ reason }),

    handleRequest(req, res, url) {
      const path = url.pathname;
      if (path === paths.metrics) {
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          res.writeHead(405, { allow: 'GET, HEAD' }).end();
          return true;
        }
        metrics.registry.metrics().then(
          (text) => {
            res.writeHead(200, { 'content-type': metrics.registry.contentType });
            res.end(req.method === 'HEAD' ? undefined : text);
          },
          (err: unknown) => {
            config.log.error('metrics failed', { message: String(err) });
            res.writeHead(500).end();
          },
        );
        return true;
      }
      if (path === paths.wisp || path === paths.tunnel) {
        res.writeHead(426, { upgrade: 'websocket', 'content-type': 'text/plain' });
        res.end('WebSocket endpoint\n');
        return true;
      }
      return false;
    },

    handleUpgrade(req, socket, head, url) {
      const path = url.pathname;
      const server =
        path === paths.wisp ? wispServer : path === paths.tunnel ? tunnelServer : undefined;
      if (server === undefined) return false;
      socket.on('error', () => socket.destroy());
      if (closing) {
        metrics.connectionsRejected.inc({ reason: 'closing' });
        refuseUpgrade(socket, 503, 'Service Unavailable');
        return true;
      }
      // One count per address, and per /64 for IPv6, which one client holds whole.
      const ip = addressGroup(clientIp(req));
      const count = perIp.get(ip) ?? 0;
      if (count >= config.limits.maxConnectionsPerIp) {
        metrics.connectionsRejected.inc({ reason: 'per-ip' });
        refuseUpgrade(socket, 429, 'Too Many Requests');
        return true;
      }
      perIp.set(ip, count + 1);
      let upgraded = false;
      // A failed WebSocket handshake never calls back; give the slot back when it goes away.
      socket.once('close', () => {
        if (!upgraded) release(ip);
      });
      server.handleUpgrade(req, socket, head, (ws) => {
        upgraded = true;
        sockets.add(ws);
        ws.once('close', () => {
          sockets.delete(ws);
          release(ip);
        });
        try {
          if (server === wispServer) serveWisp(ws, shared, { passwords: config.wispPasswords });
          else serveTunnel(ws, shared, config.key, config.admission);
        } catch (err) {
          fault('connection', err);
          ws.terminate();
        }
      });
      return true;
    },

    async close() {
      closing = true;
      const closed = [...sockets].map(
        (ws) =>
          new Promise<void>((resolve) => {
            ws.once('close', () => resolve());
            ws.close(WS_CLOSE.goingAway);
            setTimeout(() => {
              ws.terminate();
              resolve();
            }, 1000).unref();
          }),
      );
      await Promise.all(closed);
      wispServer.close();
      tunnelServer.close();
    },
  };
}
