/**
 * Addresses of proxied pages. A target URL `https://a.example/b?c` lives at
 * `/~/https://a.example/b?c` on the site's origin, readable and reversible, so a relative
 * URL in a proxied page resolves to another proxied URL without any rewriting. The
 * fragment stays in the browser, as it would on the real site.
 */

export const PROXY_PREFIX = '/~/';

const HTTP = /^https?:$/;
/** Browsers and servers sometimes merge `//` in a path; put the scheme's slashes back. */
const MERGED_SLASHES = /^(https?):\/*/i;

/** True for a path under the proxy prefix. */
export function isProxyPath(pathname: string): boolean {
  return pathname.startsWith(PROXY_PREFIX);
}

/** `https://a.example/b` → `/~/https://a.example/b`. Only http(s) URLs can be proxied. */
export function encodeProxyPath(target: string | URL): string {
  const url = typeof target === 'string' ? new URL(target) : target;
  if (!HTTP.test(url.protocol)) {
    throw new TypeError(`target: expected an http(s) URL, got ${url.protocol}`);
  }
  return PROXY_PREFIX + url.href;
}

/**
 * The target of a proxied address (a path with its query, or a whole URL on the site's
 * origin); undefined for anything else, so a request that is not ours is never guessed.
 */
export function decodeProxyPath(address: string | URL, siteOrigin?: string): URL | undefined {
  let pathAndQuery: string;
  if (typeof address === 'string' && address.startsWith('/')) {
    pathAndQuery = address.split('#')[0] ?? '';
  } else {
    let url: URL;
    try {
      url = new URL(address);
    } catch {
      return undefined;
    }
    if (siteOrigin !== undefined && url.origin !== siteOrigin) return undefined;
    pathAndQuery = url.pathname + url.search;
  }
  if (!isProxyPath(pathAndQuery)) return undefined;
  const rest = pathAndQuery.slice(PROXY_PREFIX.length).replace(MERGED_SLASHES, '$1://');
  let target: URL;
  try {
    target = new URL(rest);
  } catch {
    return undefined;
  }
  if (!HTTP.test(target.protocol) || target.username !== '' || target.password !== '') {
    return undefined;
  }
  return target;
}

/** Schemes a page may use that never touch the network, left as they are. */
const LOCAL = /^(?:data|blob|javascript|about|mailto|tel|sms):/i;

/**
 * Rewrites one URL found in a proxied page: resolved against the page's real base URL,
 * then moved under the prefix. Fragments-only and local schemes are kept; a URL that
 * is already proxied is kept; anything unparsable or of another scheme becomes
 * `about:blank#blocked` so it can never reach the network directly.
 */
export function proxyUrlFor(raw: string, base: string | URL, siteOrigin: string): string {
  const value = raw.trim();
  if (value === '' || value.startsWith('#') || LOCAL.test(value)) return raw;
  const rootRelative = value.startsWith('/') && !value.startsWith('//');
  if (rootRelative && decodeProxyPath(value) !== undefined) return value;
  let url: URL;
  try {
    url = new URL(value, base);
  } catch {
    return 'about:blank#blocked';
  }
  if (url.origin === siteOrigin && isProxyPath(url.pathname)) return url.href;
  if (!HTTP.test(url.protocol)) return LOCAL.test(url.href) ? url.href : 'about:blank#blocked';
  return encodeProxyPath(url);
}
