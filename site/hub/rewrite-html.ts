/**
 * Rewrites a proxied HTML document in place (the hub parses it with DOMParser): every
 * URL in markup moves under /~/, `<base>` becomes a proxied base, meta refresh and inline
 * styles are rewritten, integrity checks and resource hints are dropped (the bytes change,
 * and a preconnect would reach the network directly), and the runtime script goes first.
 */
import { proxyUrlFor, type SiteScope } from '../../sw/proxy-url.ts';
import { rewriteRefresh } from './meta-refresh.ts';
import { rewriteCss } from './rewrite-css.ts';
import { rewriteSrcset } from './srcset.ts';

const RUNTIME_SRC = '/~bu/runtime.js';

/** Attributes that hold one URL, and the elements they matter on. */
const URL_ATTRIBUTES: ReadonlyArray<readonly [string, string]> = [
  ['a, area, link, use, image', 'href'],
  ['img, script, iframe, frame, embed, source, track, audio, video, input', 'src'],
  ['video', 'poster'],
  ['object', 'data'],
  ['form', 'action'],
  ['button, input', 'formaction'],
  ['body, table, td, th', 'background'],
  ['blockquote, q, del, ins', 'cite'],
  ['use, image, a', 'xlink:href'],
];

const DROPPED_LINKS = /(?:^|\s)(?:preconnect|dns-prefetch|prerender)(?:\s|$)/i;

export interface RewriteContext {
  /** The page's real URL. */
  readonly url: URL;
  /** The site origin the page is shown at, and the origin it proxies. */
  readonly scope: SiteScope;
  /** The hub's origin: the runtime talks to it. */
  readonly hub: string;
  /** The page's cookies as its scripts may see them (document.cookie). */
  readonly cookies: string;
}

/** Returns the serialised, rewritten document. */
export function rewriteHtmlDocument(doc: Document, context: RewriteContext): string {
  // The base URL for everything else: the page's own <base href>, if any, resolved
  // against the real URL; the element itself then points at the proxied base.
  let base = context.url;
  const baseElement = doc.querySelector('base[href]');
  if (baseElement) {
    try {
      base = new URL(baseElement.getAttribute('href') ?? '', context.url);
    } catch {
      /* a broken <base> is ignored, as browsers do */
    }
  }
  const rewrite = (raw: string) => proxyUrlFor(raw, base, context.scope);
  const css = (text: string) => rewriteCss(text, rewrite);

  for (const element of doc.querySelectorAll('base')) element.remove();
  for (const [selector, attribute] of URL_ATTRIBUTES) {
    for (const element of doc.querySelectorAll(selector)) {
      const value = element.getAttribute(attribute);
      if (value !== null) element.setAttribute(attribute, rewrite(value));
    }
  }
  for (const element of doc.querySelectorAll('form:not([action])')) {
    element.setAttribute('action', rewrite(context.url.href));
  }
  for (const element of doc.querySelectorAll('[srcset], [imagesrcset]')) {
    for (const attribute of ['srcset', 'imagesrcset']) {
      const value = element.getAttribute(attribute);
      if (value !== null) element.setAttribute(attribute, rewriteSrcset(value, rewrite));
    }
  }
  for (const element of doc.querySelectorAll('[style]')) {
    element.setAttribute('style', css(element.getAttribute('style') ?? ''));
  }
  for (const element of doc.querySelectorAll('style')) {
    element.textContent = css(element.textContent ?? '');
  }
  for (const element of doc.querySelectorAll('meta[http-equiv]')) {
    const kind = element.getAttribute('http-equiv')?.toLowerCase();
    if (kind === 'refresh') {
      element.setAttribute(
        'content',
        rewriteRefresh(element.getAttribute('content') ?? '', rewrite),
      );
    } else if (kind === 'content-security-policy' || kind === 'set-cookie') {
      // The service worker sets the policy; cookies come from the hub's jar.
      element.remove();
    }
  }
  for (const element of doc.querySelectorAll('[integrity]')) element.removeAttribute('integrity');
  for (const element of doc.querySelectorAll('link[rel]')) {
    if (DROPPED_LINKS.test(element.getAttribute('rel') ?? '')) element.remove();
  }
  for (const element of doc.querySelectorAll('iframe[srcdoc]')) {
    element.removeAttribute('srcdoc');
  }

  const head = doc.head ?? doc.documentElement.insertBefore(doc.createElement('head'), doc.body);
  const proxiedBase = doc.createElement('base');
  proxiedBase.setAttribute('href', rewrite(base.href));
  const runtime = doc.createElement('script');
  runtime.setAttribute('src', RUNTIME_SRC);
  runtime.setAttribute('data-proxied', context.scope.proxied);
  runtime.setAttribute('data-hub', context.hub);
  runtime.setAttribute('data-cookies', context.cookies);
  head.prepend(proxiedBase, runtime);

  const doctype = doc.doctype ? `<!DOCTYPE ${doc.doctype.name}>\n` : '';
  return doctype + doc.documentElement.outerHTML;
}
