/**
 * The one HTTP server every server command runs on. Each entry point a stranger can reach (a
 * request, an upgrade, a parse error of the HTTP layer) passes through a boundary here: the
 * target is parsed once and refused with 400 when it is not a valid path, and any exception a
 * handler throws or rejects with becomes a clean 500 (or a closed socket) for that one client
 * and a call to `fault`, never a process exit.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { parseRequestTarget } from './request-target.ts';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => unknown;

export type UpgradeHandler = (
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  url: URL,
) => unknown;

/** Where an exception escaped: the label of the servers' `faults_total` metrics. */
export const FAULT_SITES = ['request', 'upgrade', 'message', 'timer', 'connection'] as const;
export type FaultSite = (typeof FAULT_SITES)[number];

/** Why the boundary answered a client itself, before any handler. */
export type BoundaryRefusal = 'bad-target' | 'bad-http';

export interface BoundaryOptions {
  readonly request: RequestHandler;
  readonly upgrade: UpgradeHandler;
  /** An exception escaped a handler; the client has already been answered. Log and count it. */
  readonly fault: (site: FaultSite, error: unknown) => void;
  /** A client was refused by the boundary itself (a 400). */
  readonly refused?: (reason: BoundaryRefusal) => void;
}

export function createGuardedServer(options: BoundaryOptions): Server {
  const server = createServer((req, res) => {
    const url = parseRequestTarget(req.url);
    if (url === null) {
      options.refused?.('bad-target');
      plainResponse(res, 400, 'bad request target\n');
      return;
    }
    run(
      () => options.request(req, res, url),
      (error) => {
        plainResponse(res, 500, 'internal error\n');
        options.fault('request', error);
      },
    );
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // An 'error' on a socket nobody listens to would be thrown by the event emitter.
    socket.on('error', () => socket.destroy());
    const url = parseRequestTarget(req.url);
    if (url === null) {
      options.refused?.('bad-target');
      endUpgrade(socket, 400, 'Bad Request');
      return;
    }
    run(
      () => options.upgrade(req, socket, head, url),
      (error) => {
        endUpgrade(socket, 500, 'Internal Server Error');
        options.fault('upgrade', error);
      },
    );
  });
  // Node answers these itself unless someone listens; we listen to count them, so answer
  // the way it would.
  server.on('clientError', (error: Error & { code?: string }, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    options.refused?.('bad-http');
    if (error.code === 'HPE_HEADER_OVERFLOW')
      endUpgrade(socket, 431, 'Request Header Fields Too Large');
    else if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') endUpgrade(socket, 408, 'Request Timeout');
    else endUpgrade(socket, 400, 'Bad Request');
  });
  return server;
}

/**
 * Wraps a callback that is an entry point of its own (a timer, a socket event) so that an
 * exception in it is reported to `fault` instead of ending the process.
 */
export function guarded<T, A extends unknown[]>(
  site: FaultSite,
  fault: (site: FaultSite, error: unknown) => void,
  fn: (this: T, ...args: A) => void | Promise<void>,
): (this: T, ...args: A) => void {
  return function (this: T, ...args: A): void {
    run(
      () => fn.apply(this, args),
      (error) => fault(site, error),
    );
  };
}

function run(fn: () => unknown, onError: (error: unknown) => void): void {
  const report = (error: unknown): void => {
    try {
      onError(error);
    } catch {
      // The reporter itself failed (a closed log stream); there is nobody left to tell.
    }
  };
  try {
    const result = fn();
    if (result instanceof Promise) result.catch(report);
  } catch (error) {
    report(error);
  }
}

function plainResponse(res: ServerResponse, status: number, text: string): void {
  if (res.writableEnded) return;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    connection: 'close',
  });
  res.end(text);
}

function endUpgrade(socket: Duplex, status: number, text: string): void {
  if (socket.writable) {
    socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  } else {
    socket.destroy();
  }
}
