/**
 * The /browse/ page: holds the `Consumer` (the WebRTC connections to volunteers), shows each
 * proxied site in a frame of that site's own origin (site-origins.ts), answers the requests
 * of the site origins' workers over MessagePorts bound to one site each (site-gateway.ts),
 * and drives the address bar and the buttons.
 */
import {
  defaultSiteConfig,
  loadSiteConfig,
  SITE_CONFIG_FILE,
} from '../../components/site-config.ts';
import { Consumer, type ConsumerStatus } from '../../mesh/consumer.ts';
import { asWireRequest, HUB_PATH, type WireHead } from '../../sw/hub-wire.ts';
import { receiveStream, sendStream } from '../../sw/port-stream.ts';
import type { SiteScope } from '../../sw/proxy-url.ts';
import {
  asSitesConfig,
  bootUrl,
  SITES_CONFIG,
  type SitesConfig,
} from '../../protocol/site-origins.ts';
import { CookieJar } from './cookie-jar.ts';
import { cookieHeader, parseSetCookie } from './cookies.ts';
import { firstParty, handleProxyRequest, scriptCookies } from './proxy-handler.ts';
import { checkSiteMessage, type SiteSender } from './site-gateway.ts';
import { consumerTransport } from './transport.ts';

const $ = <T extends Element>(selector: string, type: new () => T): T => {
  const element = document.querySelector(selector);
  if (!(element instanceof type)) throw new Error(`the page has no ${selector}`);
  return element;
};

let frame = $('#bu-frame', HTMLIFrameElement);
const form = $('#bu-address', HTMLFormElement);
const input = $('#bu-url', HTMLInputElement);
const statusText = $('#bu-status', HTMLElement);
const volunteersText = $('#bu-volunteers', HTMLElement);
const egressText = $('#bu-egress', HTMLElement);
const throughputText = $('#bu-throughput', HTMLElement);
const offline = $('#bu-offline', HTMLElement);
const empty = $('#bu-empty', HTMLElement);
const noSites = $('#bu-no-sites', HTMLElement);

let sites: SitesConfig | undefined;
/** The real URL of the page at the top of the frame. */
let current: URL | undefined;
let bytes = 0;

// ---- the mesh ----------------------------------------------------------------------
// The signaling server: the site's config.json names it, else /signal/ here (site-config.ts).
const siteConfig = await loadSiteConfig(
  new URL(SITE_CONFIG_FILE, location.origin).href,
  defaultSiteConfig(location.origin),
);
const consumer = new Consumer({
  signaling: siteConfig.signaling,
  volunteers: 2,
});
/** Settles once the consumer is connected to signaling: requests wait for it, not fail. */
let markStarted: () => void = () => undefined;
const consumerStarted = new Promise<void>((resolve) => (markStarted = resolve));
const meshTransport = consumerTransport(consumer);
const transport: typeof meshTransport = async (request) => {
  await consumerStarted;
  return meshTransport(request);
};
const jar = new CookieJar();
let started = false;

function showStatus(status: ConsumerStatus): void {
  volunteersText.textContent = String(status.volunteers);
  egressText.textContent = status.egress ?? '—';
  document.body.dataset['volunteers'] = String(status.volunteers);
  if (status.volunteers > 0) statusText.textContent = 'Connected through volunteers';
  else if (status.problem) statusText.textContent = `Looking for volunteers (${status.problem})`;
  else statusText.textContent = 'Looking for volunteers…';
}

consumer.on('status', showStatus);

async function start(): Promise<void> {
  if (started) return;
  if (!navigator.onLine) {
    showOffline(true);
    return;
  }
  statusText.textContent = 'Connecting to the signaling server…';
  try {
    await consumer.start();
    started = true;
    markStarted();
    showOffline(false);
    showStatus(consumer.status);
  } catch (err) {
    showOffline(!navigator.onLine);
    statusText.textContent = `Cannot reach the signaling server (${err instanceof Error ? err.message : String(err)}); retrying…`;
    setTimeout(() => void start(), 5_000);
  }
}

function showOffline(isOffline: boolean): void {
  offline.hidden = !isOffline;
  document.body.dataset['offline'] = String(isOffline);
  if (isOffline) statusText.textContent = 'Offline';
}

addEventListener('online', () => {
  showOffline(false);
  void start();
});
addEventListener('offline', () => showOffline(true));

// ---- throughput ---------------------------------------------------------------------
function counted(body: ReadableStream<Uint8Array> | null): ReadableStream<Uint8Array> | null {
  if (body === null) return null;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        bytes += chunk.byteLength;
        controller.enqueue(chunk);
      },
    }),
  );
}

function formatRate(perSecond: number): string {
  if (perSecond < 1024) return `${perSecond} B/s`;
  if (perSecond < 1024 * 1024) return `${(perSecond / 1024).toFixed(1)} KiB/s`;
  return `${(perSecond / 1024 / 1024).toFixed(1)} MiB/s`;
}

setInterval(() => {
  throughputText.textContent = formatRate(bytes);
  bytes = 0;
}, 1_000);

// ---- requests from the site origins' workers -------------------------------------------
function answer(reply: MessagePort, head: WireHead, body: ReadableStream<Uint8Array> | null): void {
  reply.postMessage(head);
  void sendStream(reply, body);
}

function failure(reply: MessagePort, status: number, message: string): void {
  const html = `<!doctype html><meta charset="utf-8"><title>Browse</title><p>${message.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)}</p>`;
  answer(
    reply,
    {
      t: 'head',
      status,
      statusText: '',
      headers: [['content-type', 'text/html; charset=utf-8']],
    },
    new Response(html).body,
  );
}

/** Windows of each site origin that asked for something: where cookie changes go. */
const siteWindows = new Map<string, Set<Window>>();

function remember(sender: SiteSender): void {
  const windows = siteWindows.get(sender.site) ?? new Set<Window>();
  windows.add(sender.window);
  siteWindows.set(sender.site, windows);
}

/** Tells every page of a site origin its cookies as its scripts see them. */
async function pushCookies(scope: SiteScope): Promise<void> {
  for (const window of siteWindows.get(scope.site) ?? []) {
    if (window.closed) continue;
    const value = await scriptCookies(jar, new URL(scope.proxied), current);
    window.postMessage({ type: 'bu-cookies', value }, scope.site);
  }
}

/** Requests on a port the hub bound to one site origin: they speak for that site only. */
function serve(port: MessagePort, scope: SiteScope): void {
  port.onmessage = (event: MessageEvent<unknown>) => {
    const request = asWireRequest(event.data);
    const [reply, upload] = event.ports;
    if (!request || !reply) return;
    reply.postMessage({ t: 'ack' });
    const body = request.hasBody && upload ? counted(receiveStream(upload)) : null;
    handleProxyRequest(request, body, {
      transport,
      jar,
      scope,
      hub: location.origin,
      topLevel: () => current,
      cookiesChanged: () => void pushCookies(scope),
    }).then(
      (response) =>
        answer(
          reply,
          {
            t: 'head',
            status: response.status,
            statusText: response.statusText,
            headers: response.headers,
          },
          counted(response.body),
        ),
      (err: unknown) =>
        failure(
          reply,
          502,
          `Could not load ${request.url}: ${err instanceof Error ? err.message : String(err)}`,
        ),
    );
  };
  port.start();
  port.postMessage({ t: 'ready' });
}

async function onSiteMessage(event: MessageEvent<unknown>): Promise<void> {
  const config = sites;
  if (config === undefined) return;
  const checked = checkSiteMessage(event, config, frame.contentWindow);
  if (checked === undefined) return;
  const { message, sender } = checked;
  const top = sender.window === frame.contentWindow;
  remember(sender);
  switch (message.type) {
    case 'bu-port':
      if (sender.proxied !== undefined) {
        serve(message.port, {
          site: sender.site,
          proxied: sender.proxied,
          sites: config.template,
        });
      }
      return;
    case 'bu-site-hello':
    case 'bu-location':
      if (top) shown(message.url, message.type === 'bu-location' ? message.title : '');
      return;
    case 'bu-site-lost':
      if (top && current) go(current);
      return;
    case 'bu-cookie': {
      const now = Date.now();
      const cookie = parseSetCookie(message.value, message.url, now);
      // A script cannot set an HttpOnly cookie, and never one for another site.
      if (cookie === undefined || cookie.httpOnly) return;
      await jar.store([cookie], now);
      if (sender.proxied !== undefined) {
        await pushCookies({ site: sender.site, proxied: sender.proxied });
      }
      return;
    }
    case 'bu-websocket':
      if (sender.proxied !== undefined) {
        openWebSocket(message.url, message.protocols, message.port, {
          site: sender.site,
          proxied: sender.proxied,
        });
      }
      return;
    case 'bu-open': {
      const tab = new URL(HUB_PATH, location.origin);
      tab.searchParams.set('go', message.url.href);
      window.open(tab.href, '_blank', 'noopener');
      return;
    }
  }
}

addEventListener('message', (event) => void onSiteMessage(event));

// ---- WebSockets of proxied pages (sw/websocket-shim.ts) --------------------------------
const MAX_SOCKETS = 64;
let sockets = 0;

/** Opens a page's WebSocket at the egress through the mesh, and relays it on `port`. */
function openWebSocket(
  url: URL,
  protocols: readonly string[],
  port: MessagePort,
  scope: SiteScope,
): void {
  if (sockets >= MAX_SOCKETS) {
    port.postMessage({ t: 'close', code: 1006, reason: '', wasClean: false });
    port.close();
    return;
  }
  sockets += 1;
  let open = true;
  const release = (): void => {
    if (open) sockets -= 1;
    open = false;
  };
  const fail = (): void => {
    release();
    port.postMessage({ t: 'close', code: 1006, reason: '', wasClean: false });
    port.close();
  };
  void (async () => {
    const http = new URL(url.href.replace(/^ws/, 'http'));
    const ownSite = firstParty(http, scope);
    const cookies = ownSite
      ? await jar.cookiesFor(http, { topLevel: current, safeTopLevelNavigation: false })
      : [];
    const headers: Array<[string, string]> = [['origin', scope.proxied]];
    if (cookies.length > 0) headers.push(['cookie', cookieHeader(cookies)]);
    await consumerStarted;
    const socket = await consumer.openWebSocket({ url: url.href, protocols, headers }, 30_000);
    if (ownSite) {
      const now = Date.now();
      const fresh = socket.headers
        .filter(([name]) => name.toLowerCase() === 'set-cookie')
        .map(([, value]) => parseSetCookie(value, http, now))
        .filter((cookie) => cookie !== undefined);
      if (fresh.length > 0) {
        await jar.store(fresh, now);
        void pushCookies(scope);
      }
    }
    if (socket.status !== 101) return fail();
    port.onmessage = (event: MessageEvent<unknown>) => {
      const data: unknown = event.data;
      if (typeof data !== 'object' || data === null || !('t' in data)) return;
      if (data.t === 'send' && 'data' in data) {
        if (typeof data.data === 'string') socket.send(data.data);
        else if (data.data instanceof ArrayBuffer) socket.send(new Uint8Array(data.data));
      } else if (data.t === 'close') {
        const code = 'code' in data && typeof data.code === 'number' ? data.code : undefined;
        const reason = 'reason' in data && typeof data.reason === 'string' ? data.reason : '';
        socket.close(code, reason.slice(0, 123));
      }
    };
    socket.on('message', (message) => {
      if (typeof message === 'string') {
        port.postMessage({ t: 'message', data: message });
      } else {
        const buffer = message.slice().buffer;
        port.postMessage({ t: 'message', data: buffer }, [buffer]);
      }
    });
    socket.on('close', (close) => {
      release();
      port.postMessage({
        t: 'close',
        code: close.code,
        reason: close.reason,
        wasClean: close.wasClean,
      });
      port.close();
    });
    port.postMessage({ t: 'open', protocol: socket.protocol });
  })().catch(fail);
}

// ---- the address bar and the frame ---------------------------------------------------
function normalise(text: string): URL | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  try {
    const url = new URL(/^[a-z][a-z\d+.-]*:\/\//i.test(trimmed) ? trimmed : `https://${trimmed}`);
    return /^https?:$/.test(url.protocol) ? url : undefined;
  } catch {
    return undefined;
  }
}

/** The frame now shows `url` (its top page said so). */
function shown(url: URL, title: string): void {
  current = url;
  if (document.activeElement !== input) input.value = url.href;
  document.title = `${title || url.host} · Browse`;
}

function go(target: URL): void {
  const config = sites;
  if (config === undefined) return;
  current = target;
  input.value = target.href;
  empty.hidden = true;
  frame.hidden = false;
  loadFrame(bootUrl(config, target, location.origin));
}

/**
 * A page can keep its frame from moving on: a `beforeunload` listener makes the browser ask it
 * first, and a page whose thread is busy never answers. The boot page comes from the sites
 * server, not through the mesh, so if it has not loaded in 8 s the frame is replaced
 * by a new one, which asks the old page nothing. (The old frame's history goes with it.)
 */
const FRAME_STALL_MS = 8_000;
let stall: (() => void) | undefined;

function loadFrame(url: string): void {
  stall?.();
  const held = frame;
  const loaded = (): void => clearTimeout(timer);
  const timer = setTimeout(() => {
    held.removeEventListener('load', loaded);
    if (frame !== held) return;
    const fresh = held.cloneNode(false) as HTMLIFrameElement;
    fresh.src = url;
    held.replaceWith(fresh);
    frame = fresh;
  }, FRAME_STALL_MS);
  stall = () => {
    clearTimeout(timer);
    held.removeEventListener('load', loaded);
  };
  held.addEventListener('load', loaded, { once: true });
  held.src = url;
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const target = normalise(input.value);
  if (target) {
    // Closes a phone's on-screen keyboard, which would otherwise cover the page just opened.
    input.blur();
    go(target);
  } else input.setCustomValidity('Enter a web address, like example.com');
  input.reportValidity();
});
input.addEventListener('input', () => input.setCustomValidity(''));

// The frame is another origin: history moves within it are the frame's own business, and the
// hub asks the frame's browsing context to move.
$('#bu-back', HTMLButtonElement).addEventListener('click', () => history.back());
$('#bu-forward', HTMLButtonElement).addEventListener('click', () => history.forward());
$('#bu-reload', HTMLButtonElement).addEventListener('click', () => {
  if (current) go(current);
});

// ---- start ---------------------------------------------------------------------------
/** Where proxied sites live, from the server; undefined means Browse cannot run safely. */
async function loadSites(): Promise<SitesConfig | undefined> {
  try {
    const response = await fetch(SITES_CONFIG, { cache: 'no-store' });
    return response.ok ? asSitesConfig(await response.json()) : undefined;
  } catch {
    return undefined;
  }
}

async function boot(): Promise<void> {
  // The mesh does not need the site origins: connect while the configuration loads.
  void start();
  if ('serviceWorker' in navigator) {
    // The hub's own worker: the shell, offline.
    void navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => undefined);
  }
  sites = await loadSites();
  if (sites === undefined) {
    noSites.hidden = false;
    document.body.dataset['sites'] = 'missing';
    form.querySelector('button')?.setAttribute('disabled', '');
    input.disabled = true;
    return;
  }
  document.body.dataset['sites'] = 'ready';
  const go_ = new URLSearchParams(location.search).get('go');
  const target = go_ === null ? undefined : normalise(go_);
  if (target) go(target);
}

void boot();
