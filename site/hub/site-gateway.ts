/**
 * The hub's one door to the site origins. Pages and boot pages of site origins write to the
 * hub with `window.top.postMessage`; every message is checked here before anything acts on it:
 * it must come from a window inside the hub's own frame, from an origin that is a site origin
 * under the server's template, and name a proxied origin whose label is that origin's label
 * (protocol/site-origins.ts). So a site origin can speak only for its own site: a page of A cannot get a
 * port, cookies or requests on behalf of B.
 */
import {
  isProxiableUrl,
  labelOf,
  servesOrigin,
  type SitesConfig,
} from '../../protocol/site-origins.ts';

/** A checked message from a site origin. `proxied` is the origin it was proven to speak for. */
export type SiteMessage =
  | { readonly type: 'bu-site-hello'; readonly url: URL }
  | { readonly type: 'bu-site-lost' }
  | { readonly type: 'bu-port'; readonly port: MessagePort }
  | { readonly type: 'bu-location'; readonly url: URL; readonly title: string }
  | { readonly type: 'bu-cookie'; readonly url: URL; readonly value: string }
  | { readonly type: 'bu-open'; readonly url: URL }
  | {
      readonly type: 'bu-websocket';
      readonly url: URL;
      readonly protocols: readonly string[];
      readonly port: MessagePort;
    };

export interface SiteSender {
  /** The site origin the message came from. */
  readonly site: string;
  /** The proxied origin it speaks for (proven by its label), when the message names one. */
  readonly proxied: string | undefined;
  /** Its window, to answer (cookies) or to know whether it is the top page of the frame. */
  readonly window: Window;
}

const MAX_TITLE = 1024;
const MAX_PROTOCOLS = 16;
const TOKEN = /^[!#-'*+.^-z|~-]{1,128}$/;
const MAX_COOKIE_WRITE = 8192;

/** Windows in the frame's tree: the frame's own, its frames, theirs… (bounded). */
function inFrameTree(root: Window | null, source: unknown): source is Window {
  if (root === null || source === null || typeof source !== 'object') return false;
  const queue: Window[] = [root];
  for (let seen = 0; queue.length > 0 && seen < 256; seen++) {
    const next = queue.shift();
    if (next === undefined) break;
    if (next === source) return true;
    for (let i = 0; i < next.frames.length && i < 64; i++) {
      const child = next.frames[i];
      if (child) queue.push(child);
    }
  }
  return false;
}

function field(value: object, key: string): unknown {
  return key in value ? (Object.getOwnPropertyDescriptor(value, key)?.value as unknown) : undefined;
}

function urlField(value: object, key: string): URL | undefined {
  const text = field(value, key);
  if (typeof text !== 'string' || text.length > 8192) return undefined;
  try {
    const url = new URL(text);
    return isProxiableUrl(url) ? url : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Checks one `message` event; undefined when it is not a valid message of a site origin in
 * the hub's frame (such events are ignored, whoever sent them).
 */
export function checkSiteMessage(
  event: MessageEvent<unknown>,
  config: SitesConfig,
  frame: Window | null,
): { readonly message: SiteMessage; readonly sender: SiteSender } | undefined {
  const site = event.origin;
  const data = event.data;
  if (labelOf(config, site) === undefined || !inFrameTree(frame, event.source)) return undefined;
  if (typeof data !== 'object' || data === null) return undefined;
  const window = event.source;
  const speaksFor = (origin: string): boolean => servesOrigin(config, site, origin);
  switch (field(data, 'type')) {
    case 'bu-site-hello': {
      const url = urlField(data, 'url');
      if (url === undefined || !speaksFor(url.origin)) return undefined;
      return {
        message: { type: 'bu-site-hello', url },
        sender: { site, proxied: url.origin, window },
      };
    }
    case 'bu-site-lost':
      return { message: { type: 'bu-site-lost' }, sender: { site, proxied: undefined, window } };
    case 'bu-port': {
      const origin = field(data, 'origin');
      const [port] = event.ports;
      if (typeof origin !== 'string' || port === undefined || !speaksFor(origin)) {
        return undefined;
      }
      return { message: { type: 'bu-port', port }, sender: { site, proxied: origin, window } };
    }
    case 'bu-location': {
      const url = urlField(data, 'url');
      const title = field(data, 'title');
      if (url === undefined || typeof title !== 'string' || !speaksFor(url.origin)) {
        return undefined;
      }
      return {
        message: { type: 'bu-location', url, title: title.slice(0, MAX_TITLE) },
        sender: { site, proxied: url.origin, window },
      };
    }
    case 'bu-cookie': {
      const url = urlField(data, 'url');
      const value = field(data, 'value');
      if (
        url === undefined ||
        typeof value !== 'string' ||
        value.length > MAX_COOKIE_WRITE ||
        !speaksFor(url.origin)
      ) {
        return undefined;
      }
      return {
        message: { type: 'bu-cookie', url, value },
        sender: { site, proxied: url.origin, window },
      };
    }
    case 'bu-websocket': {
      const origin = field(data, 'origin');
      const text = field(data, 'url');
      const protocols = field(data, 'protocols');
      const [port] = event.ports;
      if (
        typeof origin !== 'string' ||
        typeof text !== 'string' ||
        text.length > 8192 ||
        port === undefined ||
        !Array.isArray(protocols) ||
        protocols.length > MAX_PROTOCOLS ||
        !protocols.every((p): p is string => typeof p === 'string' && TOKEN.test(p)) ||
        !speaksFor(origin)
      ) {
        return undefined;
      }
      let url: URL;
      try {
        url = new URL(text);
      } catch {
        return undefined;
      }
      if ((url.protocol !== 'ws:' && url.protocol !== 'wss:') || url.username || url.password) {
        return undefined;
      }
      return {
        message: { type: 'bu-websocket', url, protocols, port },
        sender: { site, proxied: origin, window },
      };
    }
    case 'bu-open': {
      const url = urlField(data, 'url');
      if (url === undefined) return undefined;
      return { message: { type: 'bu-open', url }, sender: { site, proxied: undefined, window } };
    }
    default:
      return undefined;
  }
}
