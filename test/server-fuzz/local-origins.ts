/**
 * The only destinations the egresses under test may reach (`--allow`), both on 127.0.0.1: an
 * echo server for TCP streams and an HTTP server for fetch streams, whose answers take the
 * egress through its response paths (gzip, redirects, chunks, no body, a late answer).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { startEchoOrigin, startHttpOrigin, type Origin } from '../../egress/test/origins.ts';
import type { LocalOrigins } from './message-inputs.ts';

function answer(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  req.on('error', () => undefined);
  res.on('error', () => undefined);
  const path = (req.url ?? '/').split('?')[0];
  switch (path) {
    case '/gzip':
      res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync('zipped '.repeat(100)));
      return;
    case '/redirect':
      res.writeHead(302, { location: 'http://127.0.0.1:1/elsewhere' }).end();
      return;
    case '/big':
      res.writeHead(200).end(Buffer.alloc(256 * 1024, 0x61));
      return;
    case '/chunked':
      res.writeHead(200);
      for (let i = 0; i < 5; i++) res.write(`chunk ${i}\n`);
      res.end();
      return;
    case '/empty':
      res.writeHead(204).end();
      return;
    case '/slow':
      setTimeout(() => res.writeHead(200).end('late'), 300).unref();
      return;
    default:
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`${req.method} ${req.url}\n`);
  }
}

export interface RunningOrigins extends LocalOrigins {
  /** `--allow` entries for both. */
  readonly allow: readonly string[];
  close(): Promise<void>;
}

export async function startLocalOrigins(): Promise<RunningOrigins> {
  const origins: Origin[] = [await startEchoOrigin(), await startHttpOrigin(answer)];
  const [echo, http] = origins;
  if (echo === undefined || http === undefined) throw new Error('origins did not start');
  return {
    echoPort: echo.port,
    httpPort: http.port,
    allow: [`127.0.0.1:${echo.port}`, `127.0.0.1:${http.port}`],
    close: async () => {
      await Promise.all(origins.map((origin) => origin.close()));
    },
  };
}
