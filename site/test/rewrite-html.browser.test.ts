import { describe, equal, it, ok } from '../../components/test/harness.ts';
import { rewriteHtmlDocument } from '../hub/rewrite-html.ts';

const SCOPE = { site: 'http://site.test', proxied: 'https://example.com' };
const HUB = 'http://hub.test';

function rewrite(html: string, url = 'https://example.com/dir/page.html'): Document {
  const doc = new DOMParser().parseFromString(html, 'text/html');
  const out = rewriteHtmlDocument(doc, {
    url: new URL(url),
    scope: SCOPE,
    hub: HUB,
    cookies: 'a=1',
  });
  return new DOMParser().parseFromString(out, 'text/html');
}

describe('rewriteHtmlDocument', () => {
  it('keeps the site’s own paths, and moves other origins under /~/', () => {
    const doc = rewrite(`<!doctype html><html><head><link rel="stylesheet" href="/s.css"></head>
      <body><a href="next.html">n</a><img src="//cdn.example/i.png" srcset="a.png 1x, b.png 2x">
      <form method="post" action="/submit"></form><form></form><script src="app.js"></script></body></html>`);
    equal(doc.querySelector('link')?.getAttribute('href'), '/s.css');
    equal(doc.querySelector('a')?.getAttribute('href'), 'next.html');
    equal(doc.querySelector('img')?.getAttribute('src'), '/~/https://cdn.example/i.png');
    equal(doc.querySelector('img')?.getAttribute('srcset'), 'a.png 1x, b.png 2x');
    const forms = doc.querySelectorAll('form');
    equal(forms[0]?.getAttribute('action'), '/submit');
    equal(forms[1]?.getAttribute('action'), '/dir/page.html');
  });

  it('honours <base>, then points it under the prefix, with the runtime first', () => {
    const doc = rewrite('<head><base href="https://other.example/root/"></head><a href="x">x</a>');
    equal(doc.querySelector('a')?.getAttribute('href'), '/~/https://other.example/root/x');
    const first = doc.head.children;
    equal(first[0]?.tagName, 'BASE');
    equal(first[0]?.getAttribute('href'), '/~/https://other.example/root/');
    equal(first[1]?.getAttribute('src'), '/~bu/runtime.js');
    equal(first[1]?.getAttribute('data-proxied'), 'https://example.com');
    equal(first[1]?.getAttribute('data-hub'), HUB);
    equal(first[1]?.getAttribute('data-cookies'), 'a=1');
    equal(doc.querySelectorAll('base').length, 1);
  });

  it('rewrites inline styles, <style>, meta refresh; drops integrity, hints and meta CSP', () => {
    const doc = rewrite(`<head><meta http-equiv="refresh" content="1; url=/later">
      <meta http-equiv="Content-Security-Policy" content="default-src *">
      <link rel="preconnect" href="https://fonts.example"><style>b{background:url(bg.png)}
      i{background:url(https://cdn.example/c.png)}</style>
      <script src="x.js" integrity="sha384-abc"></script></head>
      <div style="background:url('/d.png')"></div>`);
    equal(doc.querySelector('meta[http-equiv=refresh]')?.getAttribute('content'), '1; url=/later');
    equal(doc.querySelector('meta[http-equiv="Content-Security-Policy"]'), null);
    equal(doc.querySelector('link[rel=preconnect]'), null);
    const style = doc.querySelector('style')?.textContent ?? '';
    ok(style.includes('bg.png') && !style.includes('/~/https://example.com'), 'own URL kept');
    ok(style.includes('url("/~/https://cdn.example/c.png")'), 'another origin rewritten');
    ok(
      (doc.querySelector('div')?.getAttribute('style') ?? '').includes('url("/d.png")'),
      'contains',
    );
    equal(doc.querySelector('script[src="x.js"]')?.hasAttribute('integrity'), false);
  });

  it('leaves fragments and data: alone and blocks other schemes', () => {
    const doc = rewrite(
      '<a href="#top">t</a><img src="data:image/gif;base64,R0lGOD"><a id="f" href="ftp://x/">f</a>',
    );
    equal(doc.querySelector('a')?.getAttribute('href'), '#top');
    ok(/^data:/.test(doc.querySelector('img')?.getAttribute('src') ?? ''), 'data: kept');
    equal(doc.querySelector('#f')?.getAttribute('href'), 'about:blank#blocked');
  });
});
