/**
 * The hub's service worker (scope `/` of the site's own origin): workbox precaches the site's
 * shell so `/browse/` opens offline. It proxies nothing: proxied pages live in site origins of
 * their own, each with its own worker (site-sw.ts). An old address of the form
 * `/~/https://…` on this origin opens that page in the hub instead.
 */
import { cleanupOutdatedCaches, precacheAndRoute } from 'workbox-precaching';
import { HUB_PATH } from './hub-wire.ts';
import { PROXY_PREFIX } from './proxy-url.ts';
import { shellIntegrity } from './shell-integrity.ts';
import { takeOverAtOnce, type WorkerScopeLike } from './worker-scope.ts';

const sw = self as unknown as WorkerScopeLike<{ claim(): Promise<void> }>;
// Written exactly so, `self.__WB_MANIFEST`: workbox-build replaces that text with the list.
const PRECACHE = (
  self as unknown as {
    __WB_MANIFEST: Array<{ url: string; revision: string | null; integrity?: string }>;
  }
).__WB_MANIFEST;

takeOverAtOnce(sw);

sw.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (url.origin !== sw.location.origin || !url.pathname.startsWith(PROXY_PREFIX)) return;
  if (event.request.mode !== 'navigate') {
    event.respondWith(new Response(null, { status: 404 }));
    return;
  }
  const target = url.pathname.slice(PROXY_PREFIX.length) + url.search;
  const go = new URL(HUB_PATH, url);
  go.searchParams.set('go', target);
  event.respondWith(Response.redirect(go.href, 302));
});

cleanupOutdatedCaches();
precacheAndRoute(PRECACHE, {
  directoryIndex: 'index.html',
  cleanURLs: false,
});
shellIntegrity(PRECACHE);
