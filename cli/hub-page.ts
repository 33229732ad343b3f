/**
 * The hub (`/browse/`) as `bu serve` sends it: with a policy of its own, and with
 * `/sites.json`, which tells it where proxied sites live. Without a sites origin the
 * configuration is missing on purpose and the hub refuses to open pages: a proxied page in the
 * hub's own origin could read the hub and reach the network, so there is no fallback.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { sitesSource } from '../protocol/site-origins.ts';
import type { SiteHosts } from './site-hosts.ts';

const NO_SITES = {
  error: 'no-sites-origin',
  message:
    'This server has no origin for proxied sites, so Browse cannot open pages safely. ' +
    'Operators: see --sites-origin in docs/running.md.',
};

export function serveSitesConfig(
  sites: SiteHosts | undefined,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  const body = JSON.stringify(sites === undefined ? NO_SITES : { template: sites.template });
  res.writeHead(sites === undefined ? 404 : 200, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/**
 * The hub page's own policy: scripts from its origin (and the inline ones the build wrote, by
 * hash), connections to its origin (signaling; WebRTC is not governed by CSP), frames of site
 * origins only, and nobody may frame the hub.
 */
function hubCsp(html: string, sites: string | undefined): string {
  const inline = [...html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g)].map(
    (match) =>
      `'sha256-${createHash('sha256')
        .update(match[1] ?? '')
        .digest('base64')}'`,
  );
  return [
    "default-src 'self'",
    ["script-src 'self'", ...inline].join(' '),
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "connect-src 'self'",
    `frame-src ${sites ?? "'none'"}`,
    "worker-src 'self'",
    "manifest-src 'self'",
    "object-src 'none'",
    // 'self', not 'none': the hub parses proxied pages with DOMParser, and the <base> it
    // writes into them counts against the hub's own policy.
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** Sends the built hub page with its policy; false when there is no built page. */
export async function serveHub(
  siteDir: string,
  sites: SiteHosts | undefined,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<boolean> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const html = await readFile(join(siteDir, 'browse', 'index.html'), 'utf8').catch(() => undefined);
  if (html === undefined) return false;
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(html),
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'content-security-policy': hubCsp(html, sites === undefined ? undefined : sitesSource(sites)),
  });
  res.end(req.method === 'HEAD' ? undefined : html);
  return true;
}
