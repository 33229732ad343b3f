/**
 * A plain static file server for the standalone-deployment tests, standing in for nginx or a
 * CDN: files and directory indexes from one directory, nothing generated, no knowledge of
 * Browsers Unbounded beyond what docs/running.md ("Standalone deployment") tells an operator
 * to configure: `Access-Control-Allow-Origin: *` on `/widget/` and `/config.json`.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, resolve, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

export interface PlainStaticServer {
  readonly url: string;
  readonly port: number;
  /** Every request: `METHOD path` and the `Origin` it carried. */
  readonly log: { readonly path: string; readonly origin: string | undefined }[];
  close(): Promise<void>;
}

export async function startPlainStaticServer(
  root: string,
  options: { host?: string; cors?: (path: string) => boolean } = {},
): Promise<PlainStaticServer> {
  const base = resolve(root);
  const cors = options.cors ?? (() => false);
  const log: PlainStaticServer['log'][number][] = [];
  const server: Server = createServer((req, res) => {
    void (async (): Promise<void> => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      log.push({ path, origin: req.headers.origin });
      let file = resolve(base, `.${path}`);
      if (file !== base && !file.startsWith(base + sep)) {
        res.writeHead(404).end();
        return;
      }
      let info = await stat(file).catch(() => undefined);
      if (info?.isDirectory()) {
        if (!path.endsWith('/')) {
          res.writeHead(301, { location: `${path}/` }).end();
          return;
        }
        file = join(file, 'index.html');
        info = await stat(file).catch(() => undefined);
      }
      const headers = cors(path) ? { 'access-control-allow-origin': '*' } : {};
      if (!info?.isFile()) {
        res.writeHead(404, headers).end('not found');
        return;
      }
      res.writeHead(200, {
        ...headers,
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        'content-length': info.size,
      });
      if (req.method === 'HEAD') res.end();
      else createReadStream(file).pipe(res);
    })().catch(() => res.destroy());
  });
  await new Promise<void>((done) => server.listen(0, options.host ?? '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    log,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}
