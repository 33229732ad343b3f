/**
 * Serves the built site (a directory of static files) for `bu serve`. Paths are decoded once,
 * checked segment by segment (no `..`, no hidden files, no NUL or backslash) and resolved
 * inside the root, so no request can read outside it. Directories answer with their
 * `index.html`; a directory without its trailing slash is redirected to it, as the Astro build
 * (`trailingSlash: 'always'`) expects.
 *
 * The widget is embedded on other sites, and a module script from another origin loads only
 * with CORS: `/widget/` (the script, its lazy chunks: the mesh runtime and the globe) and the
 * `config.json` it reads are public, for any origin and without credentials.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
};

/** True for the paths any site may load: the widget and the site's config.json. */
export function isPublicPath(urlPath: string): boolean {
  return urlPath.startsWith('/widget/') || urlPath === '/config.json';
}

/** CORS for a public script: any origin, no credentials, and loadable cross-origin. */
const PUBLIC_HEADERS: Readonly<Record<string, string>> = {
  'access-control-allow-origin': '*',
  'cross-origin-resource-policy': 'cross-origin',
};

/** The file path for a URL path inside `root`, or undefined when the path is not allowed. */
export function sitePath(root: string, urlPath: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (!decoded.startsWith('/') || /[\0\\]/.test(decoded)) return undefined;
  const segments = decoded.split('/').filter((segment) => segment !== '');
  // `.well-known` is the one dot-directory a site may legitimately publish.
  if (segments.some((s) => s === '..' || (s.startsWith('.') && s !== '.well-known'))) {
    return undefined;
  }
  const base = resolve(root);
  const file = resolve(base, ...segments);
  if (file !== base && !file.startsWith(base + sep)) return undefined;
  return file;
}

export interface StaticSite {
  /**
   * Answers GET and HEAD for files under the root; false when there is no such file. `url` is
   * the request target as the server's boundary parsed it.
   */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean>;
}

export function createStaticSite(root: string): StaticSite {
  return {
    async handle(req, res, url) {
      const file = sitePath(root, url.pathname);
      if (file === undefined) return false;
      let target = file;
      let info = await stat(target).catch(() => undefined);
      if (info?.isDirectory()) {
        if (!url.pathname.endsWith('/')) {
          res.writeHead(301, { location: `${url.pathname}/${url.search}` }).end();
          return true;
        }
        target = join(file, 'index.html');
        info = await stat(target).catch(() => undefined);
      }
      if (info === undefined || !info.isFile()) return false;
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
        return true;
      }
      const type = TYPES[extname(target).toLowerCase()] ?? 'application/octet-stream';
      res.writeHead(200, {
        'content-type': type,
        'content-length': info.size,
        'x-content-type-options': 'nosniff',
        // Pages, the service worker and the config must be revalidated so an update is seen
        // at once.
        'cache-control':
          type.startsWith('text/html') ||
          target.endsWith('sw.js') ||
          url.pathname === '/config.json'
            ? 'no-cache'
            : 'public, max-age=3600',
        ...(isPublicPath(url.pathname) ? PUBLIC_HEADERS : {}),
      });
      if (req.method === 'HEAD') {
        res.end();
        return true;
      }
      const stream = createReadStream(target);
      stream.on('error', () => res.destroy());
      stream.pipe(res);
      return true;
    },
  };
}
