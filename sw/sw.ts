/**
 * The service worker (scope `/`): workbox precaches the site's shell so `/browse/` opens
 * offline, and our own router sends every request under `/~/` to the hub page over a
 * MessagePort. It holds no state between requests: it looks for the hub each time, so a
 * restart of either side costs nothing. Every proxied response gets PROXY_CSP, so a URL
 * the hub's rewriter missed fails instead of reaching the network directly.
 */
import { cleanupOutdatedCaches, precacheAndRoute } from 'workbox-precaching';
import { HUB_PATH, PROXY_CSP, asWireHead, type WireRequest } from './hub-wire.ts';
import { receiveStream, sendStream } from './port-stream.ts';
import { decodeProxyPath, encodeProxyPath, isProxyPath } from './proxy-url.ts';

// The DOM library types `self` as a Window; these are the service-worker parts we use.
interface WindowClientLike {
  readonly id: string;
  readonly url: string;
  postMessage(message: unknown, transfer: Transferable[]): void;
}
interface FetchEventLike extends Event {
  readonly request: Request;
  readonly clientId: string;
  respondWith(response: Promise<Response> | Response): void;
}
interface ExtendableEventLike extends Event {
  waitUntil(promise: Promise<unknown>): void;
}
interface ServiceWorkerScopeLike {
  readonly location: Location;
  readonly clients: {
    matchAll(options: {
      type: 'window';
      includeUncontrolled: boolean;
    }): Promise<WindowClientLike[]>;
    get(id: string): Promise<WindowClientLike | undefined>;
    claim(): Promise<void>;
  };
  skipWaiting(): Promise<void>;
  addEventListener(type: 'fetch', listener: (event: FetchEventLike) => void): void;
  addEventListener(
    type: 'install' | 'activate',
    listener: (event: ExtendableEventLike) => void,
  ): void;
}
const sw = self as unknown as ServiceWorkerScopeLike;
// Written exactly so, `self.__WB_MANIFEST`: workbox-build replaces that text with the list.
const PRECACHE = (
  self as unknown as { __WB_MANIFEST: Array<{ url: string; revision: string | null }> }
).__WB_MANIFEST;

const HEAD_TIMEOUT_MS = 60_000;
const NULL_BODY = new Set([101, 204, 205, 304]);
/** The script the hub injects into proxied pages; requests for it are never redirected. */
const RUNTIME_PATH = '/proxy-runtime.js';

sw.addEventListener('install', () => void sw.skipWaiting());
sw.addEventListener('activate', (event) => event.waitUntil(sw.clients.claim()));

sw.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (url.origin !== sw.location.origin) return;
  const target = decodeProxyPath(url, sw.location.origin);
  if (target) {
    event.respondWith(proxy(event, target));
    return;
  }
  if (isProxyPath(url.pathname)) {
    event.respondWith(errorPage(400, 'This is not a web address the proxy can open.'));
    return;
  }
  // A root-relative URL the rewriter missed (`/img.png` set from a script) arrives here
  // with a proxied page as its referrer: send it to the same path on that page's site.
  const from = event.request.referrer === '' ? undefined : decodeProxyPath(event.request.referrer);
  if (from && url.pathname !== RUNTIME_PATH && event.request.mode !== 'navigate') {
    const moved = new URL(url.pathname + url.search, from);
    event.respondWith(Response.redirect(encodeProxyPath(moved), 307));
  }
});

cleanupOutdatedCaches();
precacheAndRoute(PRECACHE, { directoryIndex: 'index.html', cleanURLs: false });

/** The open hub windows, newest last. */
async function findHub(): Promise<WindowClientLike | undefined> {
  const windows = await sw.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const hubs = windows.filter((client) => new URL(client.url).pathname === HUB_PATH);
  return hubs.at(-1);
}

async function proxy(event: FetchEventLike, target: URL): Promise<Response> {
  const { request } = event;
  const hub = await findHub();
  if (!hub) return noHub(request, target);
  const reply = new MessageChannel();
  const upload = request.body === null ? undefined : new MessageChannel();
  const referrer = request.referrer === '' ? undefined : decodeProxyPath(request.referrer)?.href;
  const message: WireRequest = {
    type: 'bu-proxy-request',
    url: target.href,
    method: request.method,
    headers: [...request.headers],
    hasBody: upload !== undefined,
    navigate: request.mode === 'navigate',
    destination: request.destination,
    referrer,
  };
  hub.postMessage(message, upload ? [reply.port2, upload.port2] : [reply.port2]);
  if (upload && request.body) void sendStream(upload.port1, request.body);

  let timer: ReturnType<typeof setTimeout> | undefined;
  let body: ReadableStream<Uint8Array> | undefined;
  const head = new Promise<ReturnType<typeof asWireHead>>((resolve) => {
    timer = setTimeout(() => resolve(undefined), HEAD_TIMEOUT_MS);
    body = receiveStream(reply.port1, (data) => resolve(asWireHead(data)));
  });
  const answer = await head;
  clearTimeout(timer);
  if (!answer) {
    void body?.cancel().catch(() => undefined);
    return errorPage(504, 'The hub did not answer. Is the Browse page still open?');
  }
  const headers = new Headers();
  for (const [name, value] of answer.headers) {
    try {
      headers.append(name, value);
    } catch {
      /* a header the browser refuses; leave it out */
    }
  }
  headers.set('content-security-policy', PROXY_CSP);
  const nullBody = NULL_BODY.has(answer.status) || request.method === 'HEAD';
  if (nullBody) void body?.cancel().catch(() => undefined);
  return new Response(nullBody ? null : (body ?? null), {
    status: answer.status,
    statusText: answer.statusText,
    headers,
  });
}

function noHub(request: Request, target: URL): Response {
  if (request.mode !== 'navigate') {
    return errorPage(503, 'Browse is not open: open /browse/ to reach this address.');
  }
  const open = `${HUB_PATH}?go=${encodeURIComponent(target.href)}`;
  return page(
    200,
    'Open Browse',
    `<p>This page is reached through Browse, which is not open.</p>
<p><a href="${escapeHtml(open)}" target="_top">Open Browse and go to ${escapeHtml(target.host)}</a></p>
<meta http-equiv="refresh" content="0; url=${escapeHtml(open)}">`,
  );
}

function errorPage(status: number, message: string): Response {
  return page(status, 'Browse', `<p>${escapeHtml(message)}</p>`);
}

function page(status: number, title: string, body: string): Response {
  const html = `<!doctype html><html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${escapeHtml(title)}</title><style>body{font:16px/1.5 system-ui,sans-serif;margin:2rem;color-scheme:light dark}</style>${body}</html>`;
  return new Response(html, {
    status,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': PROXY_CSP,
    },
  });
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
