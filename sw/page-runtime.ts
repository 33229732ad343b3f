/**
 * Injected first into every proxied HTML page (as /proxy-runtime.js): keeps what the
 * page's own scripts do under the proxy prefix. The HTML rewriter handles the markup;
 * this handles URLs made at run time: fetch, XMLHttpRequest, sendBeacon, EventSource,
 * element attributes set from scripts, history, window.open, form submission and
 * location changes (through the Navigation API where the browser has it). WebRTC is
 * disabled: a peer connection would go around the proxy. Whatever slips past still
 * meets the service worker's CSP, which allows only this site's origin.
 */
import { decodeProxyPath, isProxyPath, proxyUrlFor } from './proxy-url.ts';

const site = location.origin;
const here = decodeProxyPath(location.href, site);

/** The page's real base URL (the rewriter put a proxied `<base>` in if it had one). */
function realBase(): URL {
  return decodeProxyPath(document.baseURI, site) ?? here ?? new URL(location.href);
}

function proxied(url: string | URL): string {
  return proxyUrlFor(String(url), realBase(), site);
}

function blocked(name: string): () => never {
  return () => {
    throw new DOMException(
      `${name} is disabled in Browse: it would bypass the proxy`,
      'NotSupportedError',
    );
  };
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

  const NativeEventSource = window.EventSource;
  window.EventSource = class extends NativeEventSource {
    constructor(url: string | URL, init?: EventSourceInit) {
      super(proxied(url), init);
    }
  };

  for (const name of ['RTCPeerConnection', 'webkitRTCPeerConnection', 'RTCDataChannel']) {
    Object.defineProperty(window, name, {
      value: blocked(name),
      configurable: false,
      writable: false,
    });
  }

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

  window.open = (url?: string | URL) => {
    if (url !== undefined && String(url) !== '') location.assign(proxied(url));
    return null;
  };

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

  document.addEventListener(
    'submit',
    (event) => {
      const form = event.target;
      if (form instanceof HTMLFormElement) {
        const action = form.getAttribute('action') ?? '';
        setAttribute.call(form, 'action', proxied(action === '' ? (here?.href ?? '') : action));
      }
    },
    true,
  );

  // Location changes: location.href = …, location.assign(), links the rewriter missed.
  const navigation = (window as { navigation?: EventTarget }).navigation;
  navigation?.addEventListener('navigate', (event) => {
    if (!(event instanceof Event) || !('destination' in event)) return;
    const destination = (event as Event & { destination: { url: string } }).destination.url;
    const url = new URL(destination);
    if (url.origin === site && isProxyPath(url.pathname)) return;
    if (!/^https?:$/.test(url.protocol)) return;
    event.preventDefault();
    const target =
      url.origin === site ? new URL(url.pathname + url.search + url.hash, realBase()) : url;
    location.assign(proxied(target));
  });
}

/** Tells the hub where this page really is (address bar, history). */
function announce(): void {
  const now = decodeProxyPath(location.href, site);
  if (now && window.parent !== window) {
    window.parent.postMessage({ type: 'bu-location', url: now.href, title: document.title }, site);
  }
}

if (here) {
  install();
  addEventListener('DOMContentLoaded', announce);
  addEventListener('popstate', announce);
  addEventListener('hashchange', announce);
}
