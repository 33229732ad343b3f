/**
 * Addresses on a site origin (site-origins.ts). A page of `https://a.example` is shown at
 * `http://<label>.localhost:8080`, and on that origin:
 *
 * - `/b?c` is `https://a.example/b?c`: the proxied site's own paths keep their shape, so
 *   relative URLs need no rewriting and the page's `location.pathname` is the real one;
 * - `/~/https://cdn.example/x` is `https://cdn.example/x`: anything of another origin (an
 *   image, a script, a link to another site; navigating there moves to that site's origin);
 * - `/~bu/…` is ours (the boot page, the service worker, the runtime). A proxied path that
 *   happens to start with `/~/` or `/~bu/` is written in the second form, so nothing is
 *   ambiguous.
 *
 * The fragment stays in the browser, as it would on the real site.
 */
import { labelOf, SITE_FILES } from '../protocol/site-origins.ts';

export const PROXY_PREFIX = '/~/';

export interface SiteScope {
  /** The origin the page is shown at, e.g. `http://<label>.localhost:8080`. */
  readonly site: string;
  /** The proxied origin it shows, e.g. `https://a.example`. */
  readonly proxied: string;
  /**
   * The sites template (`http://{label}.localhost:8080`), when known: a URL on any site origin
   * is already an address of ours (another site's page) and is left as it is.
   */
  readonly sites?: string;
}

function onSiteOrigin(url: URL, scope: SiteScope): boolean {
  if (url.origin === scope.site) return true;
  return scope.sites !== undefined && labelOf({ template: scope.sites }, url.origin) !== undefined;
}

const HTTP = /^https?:$/;
/** Browsers and servers sometimes merge `//` in a path; put the scheme's slashes back. */
const MERGED_SLASHES = /^(https?):\/*/i;

function reserved(pathname: string): boolean {
  return pathname.startsWith(PROXY_PREFIX) || pathname.startsWith(SITE_FILES);
}

/** The address (path or site-origin URL) at which a page in `scope` reaches `target`. */
export function sitePathFor(target: URL, scope: SiteScope): string {
  if (!HTTP.test(target.protocol)) {
    throw new TypeError(`target: expected an http(s) URL, got ${target.protocol}`);
  }
  if (target.origin === scope.proxied && !reserved(target.pathname)) {
    return target.pathname + target.search + target.hash;
  }
  return PROXY_PREFIX + target.href;
}

/**
 * The real URL behind an address on the site origin (a path, or a whole URL on it);
 * undefined for anything else (another origin, our own files, nonsense), so a request that
 * is not a proxied one is never guessed.
 */
export function realUrlFor(address: string | URL, scope: SiteScope): URL | undefined {
  let url: URL;
  try {
    url = new URL(address, scope.site);
  } catch {
    return undefined;
  }
  if (url.origin !== scope.site) return undefined;
  if (url.pathname.startsWith(SITE_FILES)) return undefined;
  if (!url.pathname.startsWith(PROXY_PREFIX)) {
    return new URL(url.pathname + url.search + url.hash, scope.proxied);
  }
  const rest = (url.pathname + url.search)
    .slice(PROXY_PREFIX.length)
    .replace(MERGED_SLASHES, '$1://');
  let target: URL;
  try {
    target = new URL(rest);
  } catch {
    return undefined;
  }
  if (!HTTP.test(target.protocol) || target.username !== '' || target.password !== '') {
    return undefined;
  }
  target.hash = url.hash;
  return target;
}

/** Schemes a page may use that never touch the network, left as they are. */
const LOCAL = /^(?:data|blob|javascript|about|mailto|tel|sms):/i;

/**
 * Rewrites one URL found in a proxied page: resolved against the page's real base URL, then
 * given its address on the site origin. Fragment-only URLs and local schemes are kept; an
 * address already on the site origin is kept; anything unparsable or of another scheme
 * becomes `about:blank#blocked` so it can never reach the network directly.
 */
export function proxyUrlFor(raw: string, base: string | URL, scope: SiteScope): string {
  const value = raw.trim();
  if (value === '' || value.startsWith('#') || LOCAL.test(value)) return raw;
  let url: URL;
  try {
    url = new URL(value, base);
  } catch {
    return 'about:blank#blocked';
  }
  if (onSiteOrigin(url, scope)) return url.href;
  if (!HTTP.test(url.protocol)) return LOCAL.test(url.href) ? url.href : 'about:blank#blocked';
  // A relative URL of the site's own pages resolves on the site origin exactly as on the real
  // site (same paths): it stays as the page wrote it, for scripts and selectors that read it.
  const relative = !/^[a-z][a-z\d+.-]*:/i.test(value) && !value.startsWith('//');
  if (relative && url.origin === scope.proxied && new URL(base).origin === scope.proxied) {
    if (!reserved(url.pathname)) return raw;
  }
  return sitePathFor(url, scope);
}
