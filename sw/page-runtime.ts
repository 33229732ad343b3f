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
import { proxyUrlFor, realUrlFor, type SiteScope } from './proxy-url.ts';
import { webSocketClass } from './websocket-shim.ts';

const script = document.currentScript;
const scope: SiteScope = {
  site: location.origin,
  proxied: script?.getAttribute('data-proxied') ?? '',
};
const hub = script?.getAttribute('data-hub') ?? '';
let cookies = script?.getAttribute('data-cookies') ?? '';
const here = realUrlFor(location.href, scope);

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

function blocked(name: string): () => never {
  return () => {
    throw new DOMException(
      `${name} is disabled in Browse: it would bypass the proxy`,
      'NotSupportedError',
    );
  };
}

const WEBRTC = ['RTCPeerConnection', 'webkitRTCPeerConnection', 'RTCDataChannel'];
const disarmed = new WeakSet<Window>();

/** Takes WebRTC away from a window of this origin (the page's, or a frame's it made). */
function disarm(target: Window): void {
  if (disarmed.has(target)) return;
  try {
    for (const name of WEBRTC) {
      Object.defineProperty(target, name, {
        value: blocked(name),
        configurable: false,
        writable: false,
      });
    }
    disarmed.add(target);
  } catch {
    /* another origin's window: its own policy and runtime apply */
  }
}

/** Disarms every frame of this window and theirs (a new frame is a new set of globals). */
function disarmFrames(root: Window = window, depth = 0): void {
  if (depth > 8) return;
  for (let i = 0; i < root.length; i++) {
    const child = root[i];
    if (child === undefined) continue;
    disarm(child);
    try {
      disarmFrames(child, depth + 1);
    } catch {
      /* cross-origin */
    }
  }
}

/**
 * Every way a script can put a frame into the document, wrapped so that the frame's window is
 * disarmed before the script's next statement can reach it (`frames[0].RTCPeerConnection`).
 * Browsers let no page forbid WebRTC outright (no CSP directive for it in Chromium), so this
 * is best effort; docs/architecture.md says what remains.
 */
function guardFrameInsertion(): void {
  const wrap = (prototype: object, name: string): void => {
    const descriptor = Object.getOwnPropertyDescriptor(prototype, name);
    if (descriptor === undefined) return;
    if (typeof descriptor.value === 'function') {
      const original = descriptor.value as (...args: unknown[]) => unknown;
      Object.defineProperty(prototype, name, {
        ...descriptor,
        value: function (this: unknown, ...args: unknown[]) {
          const result = original.apply(this, args);
          disarmFrames();
          return result;
        },
      });
    } else if (descriptor.set) {
      // eslint-disable-next-line @typescript-eslint/unbound-method -- called with .call(this)
      const set = descriptor.set;
      Object.defineProperty(prototype, name, {
        ...descriptor,
        set(this: unknown, value: unknown) {
          set.call(this, value);
          disarmFrames();
        },
      });
    }
  };
  for (const name of ['appendChild', 'insertBefore', 'replaceChild']) wrap(Node.prototype, name);
  for (const name of [
    'append',
    'prepend',
    'after',
    'before',
    'replaceWith',
    'replaceChildren',
    'insertAdjacentElement',
    'insertAdjacentHTML',
    'innerHTML',
    'outerHTML',
    'setHTMLUnsafe',
  ]) {
    wrap(Element.prototype, name);
  }
  for (const name of ['append', 'prepend', 'replaceChildren'])
    wrap(DocumentFragment.prototype, name);
  for (const name of ['innerHTML', 'setHTMLUnsafe']) wrap(ShadowRoot.prototype, name);
  for (const name of ['write', 'writeln', 'append', 'prepend', 'replaceChildren']) {
    wrap(Document.prototype, name);
  }
  wrap(Range.prototype, 'insertNode');
  const contentWindow = Object.getOwnPropertyDescriptor(
    HTMLIFrameElement.prototype,
    'contentWindow',
  );
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called with .call(this)
  const getWindow = contentWindow?.get;
  if (contentWindow && getWindow) {
    Object.defineProperty(HTMLIFrameElement.prototype, 'contentWindow', {
      ...contentWindow,
      get(this: HTMLIFrameElement) {
        const inner = getWindow.call(this) as Window | null;
        if (inner !== null) disarm(inner);
        return inner;
      },
    });
  }
  // Frames the parser makes, and frames that navigated to a fresh document.
  new MutationObserver(() => disarmFrames()).observe(document, { childList: true, subtree: true });
  addEventListener('load', () => disarmFrames(), true);
}

function install(): void {
  disarm(window);
  guardFrameInsertion();

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

  // Attributes and properties that load something.
  const urlAttributes = new Set(['src', 'href', 'action', 'formaction', 'poster', 'data']);
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called with .call(this)
  const setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (this: Element, name: string, value: string) {
    const lower = name.toLowerCase();
    let next = value;
    if (urlAttributes.has(lower) && !(this instanceof SVGElement)) next = proxied(value);
    else if (lower === 'srcset')
      next = value.replace(/(^|,\s*)(\S+)/g, (_, sep: string, u: string) => sep + proxied(u));
    setAttribute.call(this, name, next);
  };
  const properties: Array<[{ prototype: object }, string]> = [
    [HTMLImageElement, 'src'],
    [HTMLScriptElement, 'src'],
    [HTMLIFrameElement, 'src'],
    [HTMLSourceElement, 'src'],
    [HTMLMediaElement, 'src'],
    [HTMLEmbedElement, 'src'],
    [HTMLLinkElement, 'href'],
    [HTMLAnchorElement, 'href'],
    [HTMLFormElement, 'action'],
  ];
  for (const [type, property] of properties) {
    const descriptor = Object.getOwnPropertyDescriptor(type.prototype, property);
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called with .call(this)
    const set = descriptor?.set;
    if (!descriptor || !set) continue;
    Object.defineProperty(type.prototype, property, {
      ...descriptor,
      set(this: Element, value: unknown) {
        set.call(this, proxied(String(value)));
      },
    });
  }

  // Location changes to other sites: location.href = …, location.assign(), links the
  // rewriter missed. The site's worker sends a navigation to another origin on to that
  // origin; here it only needs the right address on this one.
  const navigation = (window as { navigation?: EventTarget }).navigation;
  navigation?.addEventListener('navigate', (event) => {
    if (!(event instanceof Event) || !('destination' in event)) return;
    const destination = (event as Event & { destination: { url: string } }).destination.url;
    const url = new URL(destination);
    if (url.origin === scope.site || !/^https?:$/.test(url.protocol)) return;
    event.preventDefault();
    location.assign(proxied(url));
  });

  installCookies();
}

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

if (here && scope.proxied !== '') {
  relayPorts();
  install();
  addEventListener('DOMContentLoaded', announce);
  addEventListener('popstate', announce);
  addEventListener('hashchange', announce);
}
