/**
 * The service worker of one site origin (registered by the boot page as
 * `/~bu/sw.js?o=<proxied origin>&h=<hub origin>`, scope `/`). Every request of the site's
 * pages comes here and goes to the hub over a MessagePort, with this origin's proxied origin;
 * the hub knows from the port which site is asking, so this worker cannot speak for another
 * site even if a page took it over. It keeps no state but that port: when the worker is
 * restarted, or the hub reloads, it asks a window of this origin for a new one.
 *
 * A navigation to another origin is sent to that origin's boot page, so every site renders in
 * its own origin. Every response carries SITE_CSP: whatever a page tries, it can reach only
 * this origin (which is this worker) and other site origins (their workers), never the network.
 */
import { asWireHead, siteCsp, type WireRequest } from './hub-wire.ts';
import { receiveStream, sendStream } from './port-stream.ts';
import { realUrlFor, type SiteScope } from './proxy-url.ts';
import { takeOverAtOnce, type FetchEventLike, type WorkerScopeLike } from './worker-scope.ts';
import {
  bootUrl,
  isProxiableUrl,
  servesOrigin,
  SITE_FILES,
  templateOf,
  type SitesConfig,
} from '../protocol/site-origins.ts';

interface ClientLike {
  readonly id: string;
  readonly url: string;
  readonly type: string;
  postMessage(message: unknown, transfer: Transferable[]): void;
}
type SiteWorkerScope = WorkerScopeLike<{
  matchAll(options: { type: 'window'; includeUncontrolled: boolean }): Promise<ClientLike[]>;
  get(id: string): Promise<ClientLike | undefined>;
  claim(): Promise<void>;
}>;
const worker = self as unknown as SiteWorkerScope;

const params = new URLSearchParams(worker.location.search);
const site = worker.location.origin;
const proxied = params.get('o') ?? '';
const hub = params.get('h') ?? '';
const config: SitesConfig = { template: templateOf(site) };
const scope: SiteScope = { site, proxied };
const csp = siteCsp(hub, config);
/** Whether the registration's claim holds; a worker for which it does not serves nothing. */
const valid = checkRegistration();

/**
 * How long the hub has to acknowledge a request before its port counts as gone. Generous: a
 * busy hub acknowledges late, and a request sent again reaches the origin twice; a gone hub is
 * rare (a boot page drops the old port first).
 */
const ACK_TIMEOUT_MS = 10_000;
const HEAD_TIMEOUT_MS = 120_000;
const NULL_BODY = new Set([101, 204, 205, 304]);

takeOverAtOnce(worker);

// A boot page means the hub opened this origin afresh (maybe a new hub page): the old port
// may lead to a hub that is gone, so the next request asks for a new one at once.
worker.addEventListener('message', (event) => {
  const message = event as MessageEvent<unknown>;
  const data = message.data;
  if (typeof data === 'object' && data !== null && 'type' in data && data.type === 'bu-new-hub') {
    port = undefined;
    message.ports[0]?.postMessage('done');
  }
});

worker.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (url.origin !== site || url.pathname.startsWith(SITE_FILES)) return;
  event.respondWith(route(event, url));
});

function checkRegistration(): boolean {
  try {
    const proxiedUrl = new URL(proxied);
    return (
      proxiedUrl.origin === proxied &&
      isProxiableUrl(proxiedUrl) &&
      servesOrigin(config, site, proxied)
    );
  } catch {
    return false;
  }
}

async function route(event: FetchEventLike, url: URL): Promise<Response> {
  if (!valid) {
    return errorPage(500, 'This site origin was set up for another site. Reload Browse.');
  }
  const target = realUrlFor(url, scope);
  if (target === undefined || !isProxiableUrl(target)) {
    return errorPage(400, 'This is not a web address Browse can open.');
  }
  const { request } = event;
  if (request.mode === 'navigate' && target.origin !== proxied && request.method === 'GET') {
    // Another site: it opens in its own origin, through its own boot page.
    return Response.redirect(bootUrl(config, target, hub), 302);
  }
  return proxy(event, target);
}

// ---- the port to the hub ------------------------------------------------------------------
let port: Promise<MessagePort | undefined> | undefined;

/**
 * A port to the hub, asked for through a window of this origin: the window's runtime (or boot
 * page) hands it to the hub, which binds it to this origin's proxied site and says `ready`.
 */
function hubPort(event: FetchEventLike): Promise<MessagePort | undefined> {
  port ??= askForPort(event).then((found) => {
    if (found === undefined) port = undefined;
    return found;
  });
  return port;
}

async function askForPort(event: FetchEventLike): Promise<MessagePort | undefined> {
  const windows = await worker.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const asking = event.clientId === '' ? undefined : await worker.clients.get(event.clientId);
  const candidates = [
    ...(asking?.type === 'window' ? [asking] : []),
    ...windows.filter((client) => client.id !== asking?.id),
  ];
  for (const client of candidates) {
    const channel = new MessageChannel();
    const ready = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), ACK_TIMEOUT_MS);
      channel.port1.onmessage = (message: MessageEvent<unknown>) => {
        if (isMessage(message.data, 'ready')) {
          clearTimeout(timer);
          resolve(true);
        }
      };
      channel.port1.start();
    });
    client.postMessage({ type: 'bu-need-port' }, [channel.port2]);
    if (await ready) {
      channel.port1.onmessage = null;
      return channel.port1;
    }
    channel.port1.close();
  }
  return undefined;
}

function isMessage(value: unknown, t: string): boolean {
  return typeof value === 'object' && value !== null && 't' in value && value.t === t;
}

// ---- one request --------------------------------------------------------------------------
async function proxy(event: FetchEventLike, target: URL): Promise<Response> {
  const { request } = event;
  // Sent again on a new port only when the first port turns out to be gone, and only if that
  // cannot do anything twice at the origin (a late hub may have sent it after all).
  const again = request.method === 'GET' || request.method === 'HEAD';
  for (const attempt of again ? [request, request] : [request]) {
    const to = await hubPort(event);
    if (to === undefined) {
      return errorPage(503, 'Browse is not open: open it again to reach this page.');
    }
    const answer = await send(to, attempt, target);
    if (answer !== undefined) return answer;
    port = undefined;
  }
  return errorPage(504, 'The hub did not answer. Is the Browse page still open?');
}

/** Sends one request on `to`; undefined when the hub never acknowledged it. */
async function send(to: MessagePort, request: Request, target: URL): Promise<Response | undefined> {
  const reply = new MessageChannel();
  const upload = request.body === null ? undefined : new MessageChannel();
  const referrer = request.referrer === '' ? undefined : realUrlFor(request.referrer, scope)?.href;
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
  let acknowledged = false;
  let resolveHead: (head: ReturnType<typeof asWireHead> | 'lost') => void = () => undefined;
  const head = new Promise<ReturnType<typeof asWireHead> | 'lost'>((resolve) => {
    resolveHead = resolve;
  });
  const body = receiveStream(reply.port1, (data) => {
    if (isMessage(data, 'ack')) {
      acknowledged = true;
      return;
    }
    resolveHead(asWireHead(data));
  });
  to.postMessage(message, upload ? [reply.port2, upload.port2] : [reply.port2]);
  if (upload && request.body) void sendStream(upload.port1, request.body);
  const ack = setTimeout(() => {
    if (!acknowledged) resolveHead('lost');
  }, ACK_TIMEOUT_MS);
  const late = setTimeout(() => resolveHead(undefined), HEAD_TIMEOUT_MS);
  const answer = await head;
  clearTimeout(ack);
  clearTimeout(late);
  if (answer === 'lost') {
    void body.cancel().catch(() => undefined);
    return undefined;
  }
  if (answer === undefined) {
    void body.cancel().catch(() => undefined);
    return errorPage(504, 'The page took too long to answer.');
  }
  const headers = new Headers();
  for (const [name, value] of answer.headers) {
    try {
      headers.append(name, value);
    } catch {
      /* a header the browser refuses; leave it out */
    }
  }
  headers.set('content-security-policy', csp);
  const nullBody = NULL_BODY.has(answer.status) || request.method === 'HEAD';
  if (nullBody) void body.cancel().catch(() => undefined);
  return new Response(nullBody ? null : body, {
    status: answer.status,
    statusText: answer.statusText,
    headers,
  });
}

function errorPage(status: number, message: string): Response {
  const html = `<!doctype html><html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Browse</title><style>body{font:16px/1.5 system-ui,sans-serif;margin:2rem;color-scheme:light dark}</style><p>${escapeHtml(message)}</p></html>`;
  return new Response(html, {
    status,
    headers: { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': csp },
  });
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
