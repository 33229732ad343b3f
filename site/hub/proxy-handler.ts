/**
 * One proxied request, in the hub: the request's headers are cleaned up and given the
 * site's cookies, the exchange goes through the transport (the mesh), cookies from the
 * answer go to the jar, `Location` and `Refresh` move under /~/, and HTML and CSS bodies
 * are rewritten. Other bodies stream through untouched.
 */
import { proxyUrlFor } from '../../sw/proxy-url.ts';
import type { WireRequest } from '../../sw/hub-wire.ts';
import type { CookieJar } from './cookie-jar.ts';
import { cookieHeader, parseSetCookie, type Cookie } from './cookies.ts';
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
  readonly siteOrigin: string;
  /** The real URL of the page shown in the hub's frame (for SameSite). */
  readonly topLevel: () => URL | undefined;
  readonly now?: () => number;
}

function charsetOf(contentType: string): string {
  return /charset\s*=\s*"?([\w-]+)/i.exec(contentType)?.[1] ?? 'utf-8';
}

async function readText(body: ReadableStream<Uint8Array> | null, charset: string): Promise<string> {
  if (body === null) return '';
  const buffer = await new Response(body).arrayBuffer();
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(charset);
  } catch {
    decoder = new TextDecoder('utf-8');
  }
  return decoder.decode(buffer);
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
  const cookies = await deps.jar.cookiesFor(url, {
    topLevel,
    safeTopLevelNavigation: request.navigate && safe,
  });

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
  const rewrite = (raw: string) => proxyUrlFor(raw, url, deps.siteOrigin);
  let contentType = '';
  for (const [name, value] of response.headers) {
    const lower = name.toLowerCase();
    if (lower === 'set-cookie') {
      const cookie = parseSetCookie(value, url, now);
      if (cookie) fresh.push(cookie);
    }
    if (DROP_RESPONSE.has(lower)) continue;
    if (lower === 'content-type') contentType = value;
    if (lower === 'location') out.push([name, rewrite(value)]);
    else if (lower === 'refresh') out.push([name, rewriteRefresh(value, rewrite)]);
    else out.push([name, value]);
  }
  if (fresh.length > 0) await deps.jar.store(fresh, now);

  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  const isHtml = type === 'text/html' || type === 'application/xhtml+xml';
  if (request.method === 'HEAD' || (!isHtml && type !== 'text/css')) {
    return { ...response, headers: out };
  }
  const text = await readText(response.body, charsetOf(contentType));
  const rewritten = isHtml
    ? rewriteHtmlDocument(new DOMParser().parseFromString(text, 'text/html'), {
        url,
        siteOrigin: deps.siteOrigin,
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
