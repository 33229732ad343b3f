/**
 * One proxied request, in the hub, from a page of one site origin (`scope`): the request's
 * headers are cleaned up and given the site's cookies (only for the site's own requests: a
 * request to another site carries none, as with third-party cookies blocked), the exchange
 * goes through the transport (the mesh), cookies from the answer go to the jar (again only
 * the site's own), `Location` and `Refresh` move to the site origin, and HTML and CSS bodies
 * are rewritten. Other bodies stream through untouched.
 */
import { proxyUrlFor, type SiteScope } from '../../sw/proxy-url.ts';
import type { WireRequest } from '../../sw/hub-wire.ts';
import type { CookieJar } from './cookie-jar.ts';
import { cookieHeader, parseSetCookie, siteOf, type Cookie } from './cookies.ts';
import { rewriteRefresh } from './meta-refresh.ts';
import { rewriteCss } from './rewrite-css.ts';
import { rewriteHtmlDocument } from './rewrite-html.ts';
import type { HeaderList, RawResponse, Transport } from './transport.ts';

/** Request headers that describe the hop to this site, not the request to the real one. */
const DROP_REQUEST = new Set([
  'cookie',
  'host',
  'origin',
  'referer',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'transfer-encoding',
  'proxy-authorization',
  'service-worker',
  'sec-fetch-site',
  'sec-fetch-mode',
  'sec-fetch-dest',
  'sec-fetch-user',
  // Like a Request built in a page (where these are forbidden), the exchange leaves the
  // browser's identity out: the egress's client speaks for every user alike.
  'user-agent',
]);

/** Response headers that would act on this site rather than on the proxied page. */
const DROP_RESPONSE = new Set([
  'set-cookie',
  'set-cookie2',
  'content-security-policy',
  'content-security-policy-report-only',
  'x-frame-options',
  'strict-transport-security',
  'clear-site-data',
  'service-worker-allowed',
  'link',
  'report-to',
  'nel',
  'alt-svc',
  'public-key-pins',
  'content-encoding',
  'transfer-encoding',
  'connection',
  'keep-alive',
]);

export interface HandlerDeps {
  readonly transport: Transport;
  readonly jar: CookieJar;
  /** Which site origin asks, and for which proxied origin (from the port it asked on). */
  readonly scope: SiteScope;
  /** The hub's origin, for the runtime script's `data-hub`. */
  readonly hub: string;
  /** The real URL of the page shown in the hub's frame (for SameSite). */
  readonly topLevel: () => URL | undefined;
  /** The site's cookies changed (a response set some): its pages should hear. */
  readonly cookiesChanged?: () => void;
  readonly now?: () => number;
}

/** True when `url` belongs to the same site as the asking origin's proxied origin. */
export function firstParty(url: URL, scope: SiteScope): boolean {
  return siteOf(url.hostname.toLowerCase()) === siteOf(new URL(scope.proxied).hostname);
}

/** The cookies a page's script may see (document.cookie): not the HttpOnly ones. */
export async function scriptCookies(
  jar: CookieJar,
  url: URL,
  topLevel: URL | undefined,
): Promise<string> {
  const cookies = await jar.cookiesFor(url, { topLevel, safeTopLevelNavigation: false });
  return cookieHeader(cookies.filter((cookie) => !cookie.httpOnly));
}

/** The charset a Content-Type names, if it names one. */
function charsetOf(contentType: string): string | undefined {
  return /charset\s*=\s*"?([\w-]+)/i.exec(contentType)?.[1];
}

/**
 * The charset an HTML document declares in its first 1024 bytes (`<meta charset>` or
 * `<meta http-equiv="Content-Type" content="…charset=…">`), as the HTML spec's prescan finds
 * it when the response header names none.
 */
export function declaredCharset(head: Uint8Array): string | undefined {
  let text = '';
  for (const byte of head.subarray(0, 1024)) text += String.fromCharCode(byte);
  for (const tag of text.match(/<meta\b[^>]*>/gi) ?? []) {
    const direct = /\bcharset\s*=\s*["']?\s*([\w-]+)/i.exec(tag);
    if (direct?.[1]) return direct[1];
  }
  return undefined;
}

async function readText(
  body: ReadableStream<Uint8Array> | null,
  charset: string | undefined,
  html: boolean,
): Promise<string> {
  if (body === null) return '';
  const bytes = new Uint8Array(await new Response(body).arrayBuffer());
  const label = charset ?? (html ? declaredCharset(bytes) : undefined) ?? 'utf-8';
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(label);
  } catch {
    decoder = new TextDecoder('utf-8');
  }
  return decoder.decode(bytes);
}

function textStream(text: string): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  return new ReadableStream({
    start(controller) {
      controller.enqueue(bytes);
      controller.close();
    },
  });
}

export async function handleProxyRequest(
  request: WireRequest,
  body: ReadableStream<Uint8Array> | null,
  deps: HandlerDeps,
): Promise<RawResponse> {
  const url = new URL(request.url);
  const now = deps.now?.() ?? Date.now();
  const topLevel = request.navigate ? undefined : deps.topLevel();
  const safe = request.method === 'GET' || request.method === 'HEAD';
  const ownSite = firstParty(url, deps.scope);
  const cookies = ownSite
    ? await deps.jar.cookiesFor(url, { topLevel, safeTopLevelNavigation: request.navigate && safe })
    : [];

  const headers: HeaderList = request.headers
    .filter(([name]) => {
      const lower = name.toLowerCase();
      return !DROP_REQUEST.has(lower) && !lower.startsWith('sec-ch-');
    })
    .map(([name, value]) => [name, value]);
  if (cookies.length > 0) headers.push(['cookie', cookieHeader(cookies)]);
  if (request.referrer !== undefined) {
    const referrer = new URL(request.referrer);
    headers.push([
      'referer',
      referrer.origin === url.origin ? referrer.href : `${referrer.origin}/`,
    ]);
    if (!safe) headers.push(['origin', referrer.origin]);
  }

  const response = await deps.transport({ method: request.method, url: url.href, headers, body });

  const fresh: Cookie[] = [];
  const out: HeaderList = [];
  const rewrite = (raw: string) => proxyUrlFor(raw, url, deps.scope);
  let contentType = '';
  for (const [name, value] of response.headers) {
    const lower = name.toLowerCase();
    if (lower === 'set-cookie' && ownSite) {
      const cookie = parseSetCookie(value, url, now);
      if (cookie) fresh.push(cookie);
    }
    if (DROP_RESPONSE.has(lower)) continue;
    if (lower === 'content-type') contentType = value;
    if (lower === 'location') out.push([name, rewrite(value)]);
    else if (lower === 'refresh') out.push([name, rewriteRefresh(value, rewrite)]);
    else out.push([name, value]);
  }
  if (fresh.length > 0) {
    await deps.jar.store(fresh, now);
    deps.cookiesChanged?.();
  }

  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  const isHtml = type === 'text/html' || type === 'application/xhtml+xml';
  if (request.method === 'HEAD' || (!isHtml && type !== 'text/css')) {
    return { ...response, headers: out };
  }
  const text = await readText(response.body, charsetOf(contentType), isHtml);
  const rewritten = isHtml
    ? rewriteHtmlDocument(new DOMParser().parseFromString(text, 'text/html'), {
        url,
        scope: deps.scope,
        hub: deps.hub,
        cookies: ownSite ? await scriptCookies(deps.jar, url, topLevel) : '',
      })
    : rewriteCss(text, rewrite);
  const headersOut: HeaderList = out.filter(([name]) => {
    const lower = name.toLowerCase();
    return lower !== 'content-length' && lower !== 'content-type';
  });
  headersOut.push(['content-type', `${isHtml ? 'text/html' : 'text/css'}; charset=utf-8`]);
  return {
    status: response.status,
    statusText: response.statusText,
    headers: headersOut,
    body: textStream(rewritten),
  };
}
