/**
 * Injected first into every proxied HTML page (`/~bu/runtime.js` on its site origin, with
 * `data-proxied` and `data-hub` set by the hub): keeps what the page's own scripts do on the
 * site origin. The HTML rewriter handles the markup; this handles URLs made at run time
 * (fetch, XMLHttpRequest, sendBeacon, EventSource, attributes set from scripts, history,
 * location changes), gives the page its cookies as a browser would (document.cookie without
 * the HttpOnly ones, writes sent to the hub's jar), opens new windows as new Browse tabs, tells
 * the hub where the page is, and passes the hub a port when the origin's service worker asks.
 *
 * It is a convenience, not a wall: a page can undo all of it. The walls are the browser's:
 * the page lives in an origin of its own, and the policy on every response lets it reach only
 * its own origin and other site origins, never the network.
 */
import { templateOf } from '../protocol/site-origins.ts';
import { proxyUrlFor, realUrlFor, type SiteScope } from './proxy-url.ts';
import { createRealmGuard } from './realm-guard.ts';
import { webSocketClass } from './websocket-shim.ts';

const script = document.currentScript;
const scope: SiteScope = {
  // A srcdoc or blob: document made by a page carries the site in the tag (its own origin
  // may be opaque); a page the hub rewrote is on the site origin itself.
  site: script?.getAttribute('data-site') ?? location.origin,
  proxied: script?.getAttribute('data-proxied') ?? '',
  sites: templateOf(script?.getAttribute('data-site') ?? location.origin),
};
const hub = script?.getAttribute('data-hub') ?? '';
let cookies = script?.getAttribute('data-cookies') ?? '';
const here = realUrlFor(location.href, scope) ?? realUrlFor(document.baseURI, scope);

/** The page's real base URL (the rewriter put a site-origin `<base>` in if it had one). */
function realBase(): URL {
  return realUrlFor(document.baseURI, scope) ?? here ?? new URL(location.href);
}

function proxied(url: string | URL): string {
  return proxyUrlFor(String(url), realBase(), scope);
}

function toHub(message: Record<string, unknown>, transfer: Transferable[] = []): void {
  if (hub !== '' && window.top !== null && window.top !== window) {
    window.top.postMessage(message, hub, transfer);
  }
}

function install(): void {
  const nativeFetch = window.fetch.bind(window);
  window.fetch = (input: RequestInfo | URL, init?: RequestInit) =>
    input instanceof Request
      ? nativeFetch(new Request(proxied(input.url), input), init)
      : nativeFetch(proxied(input), init);

  // eslint-disable-next-line @typescript-eslint/unbound-method -- called with .call(this)
  const open = XMLHttpRequest.prototype.open;
  XMLHttpRequest.prototype.open = function (
    this: XMLHttpRequest,
    method: string,
    url: string | URL,
    async: boolean = true,
    user?: string | null,
    password?: string | null,
  ) {
    open.call(this, method, proxied(url), async, user, password);
  };

  const beacon = navigator.sendBeacon.bind(navigator);
  navigator.sendBeacon = (url, data) => beacon(proxied(url), data);

  // WebSocket: the page may open no socket itself; the hub opens it through the mesh.
  window.WebSocket = webSocketClass(
    (message, transfer) => toHub({ ...message, origin: scope.proxied }, transfer),
    () => realBase().href,
    (url) => (url.origin === scope.site ? (realUrlFor(url, scope) ?? url) : url),
  );

  const NativeEventSource = window.EventSource;
  window.EventSource = class extends NativeEventSource {
    constructor(url: string | URL, init?: EventSourceInit) {
      super(proxied(url), init);
    }
  };

  for (const method of ['pushState', 'replaceState'] as const) {
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called with .call(this)
    const native = history[method];
    history[method] = function (
      this: History,
      data: unknown,
      unused: string,
      url?: string | URL | null,
    ) {
      native.call(this, data, unused, url === undefined || url === null ? url : proxied(url));
      announce();
    };
  }

  // New windows open as new Browse tabs (the frame may not open windows of its own).
  window.open = (url?: string | URL) => {
    const target = url === undefined || String(url) === '' ? undefined : realTarget(url);
    if (target) toHub({ type: 'bu-open', url: target.href });
    return null;
  };
  document.addEventListener(
    'click',
    (event) => {
      const link =
        event.target instanceof Element ? event.target.closest('a[href], area[href]') : null;
      if (!(link instanceof HTMLAnchorElement || link instanceof HTMLAreaElement)) return;
      const target = link.target.toLowerCase();
      if (target === '' || target === '_self' || target === '_parent' || target === '_top') return;
      const real = realTarget(link.href);
      if (!real) return;
      event.preventDefault();
      toHub({ type: 'bu-open', url: real.href });
    },
    true,
  );

  installCookies();
}

function attribute(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The runtime again, for documents a script makes (srcdoc, blob:): their realm first. */
const runtimeTag =
  `<script src="${attribute(scope.site)}/~bu/runtime.js" data-site="${attribute(scope.site)}" ` +
  `data-proxied="${attribute(scope.proxied)}" data-hub="${attribute(hub)}"></script>`;

const guard = createRealmGuard({ proxied, runtimeTag, site: scope.site });

/** Where a URL given to window.open or a link really goes; undefined for local schemes. */
function realTarget(url: string | URL): URL | undefined {
  const address = proxied(url);
  return realUrlFor(address, scope);
}

/**
 * document.cookie as the real site's page would see it: the hub's jar for this page, without
 * HttpOnly cookies (the hub never sends those here). Writes go to the hub, which applies the
 * same rules a browser would; the hub sends the new string back after every change.
 */
function installCookies(): void {
  Object.defineProperty(Document.prototype, 'cookie', {
    configurable: true,
    get: () => cookies,
    set: (value: unknown) => {
      const text = String(value);
      applyLocally(text);
      if (here) toHub({ type: 'bu-cookie', url: here.href, value: text });
    },
  });
  addEventListener('message', (event: MessageEvent<unknown>) => {
    if (event.origin !== hub || event.source !== window.top) return;
    const data = event.data;
    if (typeof data !== 'object' || data === null || !('type' in data)) return;
    if (data.type === 'bu-cookies' && 'value' in data && typeof data.value === 'string') {
      cookies = data.value;
    }
  });
}

/** Until the hub answers, a write shows at once, as in a browser (name=value only). */
function applyLocally(text: string): void {
  const [pair = ''] = text.split(';');
  const equals = pair.indexOf('=');
  const name = (equals < 0 ? '' : pair.slice(0, equals)).trim();
  const value = (equals < 0 ? pair : pair.slice(equals + 1)).trim();
  const removed = /;\s*(?:max-age\s*=\s*-?0|expires\s*=\s*thu,\s*01\s+jan\s+1970)/i.test(text);
  const kept = cookies
    .split(/;\s*/)
    .filter((entry) => entry !== '' && (entry.split('=')[0] ?? '').trim() !== name);
  if (!removed) kept.push(name === '' ? value : `${name}=${value}`);
  cookies = kept.join('; ');
}

/** Tells the hub where this page really is (address bar, title). */
function announce(): void {
  const now = realUrlFor(location.href, scope);
  if (now) toHub({ type: 'bu-location', url: now.href, title: document.title });
}

/** The site's worker asks for a port to the hub: pass one on, with the site it is for. */
function relayPorts(): void {
  navigator.serviceWorker?.addEventListener('message', (event: MessageEvent<unknown>) => {
    const data = event.data;
    const [port] = event.ports;
    if (typeof data !== 'object' || data === null || !('type' in data) || port === undefined) {
      return;
    }
    if (data.type === 'bu-need-port') toHub({ type: 'bu-port', origin: scope.proxied }, [port]);
  });
  navigator.serviceWorker?.startMessages();
}

// Whatever else fails, this realm and the frames it makes lose WebRTC and their shortcuts to
// the network.
guard(window);
if (here && scope.proxied !== '') {
  relayPorts();
  install();
  addEventListener('DOMContentLoaded', announce);
  addEventListener('popstate', announce);
  addEventListener('hashchange', announce);
}
