/**
 * The site origins as the server sees them (docs/architecture.md, "Site origins"): requests
 * whose Host is `<label>.<sites domain>` get only the site origin's own files (`/~bu/boot.js`,
 * `/~bu/sw.js`, `/~bu/runtime.js`) and, for every other path, the boot page. Never the hub,
 * the site's other pages, signaling or the egress: a proxied page that reaches the server
 * directly (its worker gone, a hard reload) can only be booted again.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';

export interface SiteHostsOptions {
  /** e.g. `http://{label}.localhost:8080` (sw/site-origins.ts). */
  readonly template: string;
  /** The origins the hub is reached at; the only ones that may frame a site origin. */
  readonly hubs: readonly string[];
  /** The built site; the site origins' files are in its `_bu/`. */
  readonly siteDir: string;
}

export interface SiteHosts {
  readonly template: string;
  readonly hubs: readonly string[];
  /** True when the request is for a site origin. */
  matches(req: IncomingMessage): boolean;
  handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void>;
}

const FILES: Readonly<Record<string, string>> = {
  '/~bu/boot.js': 'boot.js',
  '/~bu/sw.js': 'sw.js',
  '/~bu/runtime.js': 'runtime.js',
};

const COMMON_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
};

/** `http://{label}.localhost:8080` → a matcher for Host headers of that form. */
function hostPattern(template: string): RegExp {
  const sample = new URL(template.replace('{label}', 'bulabel'));
  const escaped = sample.host.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${escaped.replace('bulabel', '[a-z2-7]{26}')}$`, 'i');
}

function escapeAttribute(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function createSiteHosts(options: SiteHostsOptions): SiteHosts {
  const pattern = hostPattern(options.template);
  const sites = options.template.replace('{label}', '*');
  const ancestors = [...options.hubs, sites].join(' ');
  const bootPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="bu-hubs" content="${escapeAttribute(options.hubs.join(' '))}">
<meta name="bu-sites" content="${escapeAttribute(options.template)}">
<title>Browse</title>
<script src="/~bu/boot.js"></script>
</head><body style="font:16px/1.5 system-ui,sans-serif;margin:2rem;color-scheme:light dark">
<p id="bu-boot-status">Opening…</p>
</body></html>
`;
  const bootCsp = [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'unsafe-inline'",
    "worker-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    `frame-ancestors ${ancestors}`,
  ].join('; ');

  return {
    template: options.template,
    hubs: options.hubs,
    matches(req) {
      return pattern.test(req.headers.host ?? '');
    },
    async handle(req, res, url) {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', ...COMMON_HEADERS }).end();
        return;
      }
      const file = FILES[url.pathname];
      if (file !== undefined) {
        const path = join(options.siteDir, '_bu', file);
        const info = await stat(path).catch(() => undefined);
        if (info === undefined) {
          res.writeHead(404, COMMON_HEADERS).end();
          return;
        }
        res.writeHead(200, {
          ...COMMON_HEADERS,
          'content-type': 'text/javascript; charset=utf-8',
          'content-length': info.size,
          'cache-control': 'no-cache',
          ...(file === 'sw.js' ? { 'service-worker-allowed': '/' } : {}),
          // Sandboxed srcdoc documents (an opaque origin) load the runtime too.
          ...(file === 'runtime.js' ? { 'cross-origin-resource-policy': 'cross-origin' } : {}),
        });
        if (req.method === 'HEAD') {
          res.end();
          return;
        }
        const stream = createReadStream(path);
        stream.on('error', () => res.destroy());
        stream.pipe(res);
        return;
      }
      res.writeHead(200, {
        ...COMMON_HEADERS,
        'content-type': 'text/html; charset=utf-8',
        'content-length': Buffer.byteLength(bootPage),
        'cache-control': 'no-store',
        'content-security-policy': bootCsp,
      });
      res.end(req.method === 'HEAD' ? undefined : bootPage);
    },
  };
}

/** The hosts a server on `host` is reached at from this machine, as hub origins. */
export function loopbackHubs(host: string, port: number): string[] {
  if (
    host === '127.0.0.1' ||
    host === 'localhost' ||
    host === '::1' ||
    host === '0.0.0.0' ||
    host === '::'
  ) {
    // CSP cannot name an IPv6 literal (frame-ancestors), so the hub is reached by name or IPv4.
    return [`http://127.0.0.1:${port}`, `http://localhost:${port}`];
  }
  return [];
}
