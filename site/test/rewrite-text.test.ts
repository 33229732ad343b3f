import { describe, expect, it } from 'vitest';
import { rewriteRefresh } from '../hub/meta-refresh.ts';
import { rewriteCss } from '../hub/rewrite-css.ts';
import { rewriteSrcset } from '../hub/srcset.ts';

const tag = (url: string) => `P(${url})`;

describe('rewriteCss', () => {
  it('rewrites url() in every quoting style and @import strings', () => {
    const css = `@import "a.css";\n@import url('b.css') screen;\nbody{background:url(c.png)}\ni{x:url( "d e.png" )}`;
    expect(rewriteCss(css, tag)).toBe(
      `@import "P(a.css)";\n@import url("P(b.css)") screen;\nbody{background:url("P(c.png)")}\ni{x:url("P(d e.png)")}`,
    );
  });

  it('unescapes URLs before rewriting and quotes the result safely', () => {
    expect(rewriteCss(String.raw`a{b:url(x\)y.png)}`, (u) => u)).toBe('a{b:url("x)y.png")}');
    expect(rewriteCss(`a{b:url('q"r.png')}`, (u) => u)).toBe(String.raw`a{b:url("q\22 r.png")}`);
  });

  it('leaves comments and look-alikes alone', () => {
    const css = '/* url(no.png) */ a{content:"x"} .curl(y){} b{c:myurl(z)}';
    expect(rewriteCss(css, tag)).toBe(css);
  });

  it('is case-insensitive', () => {
    expect(rewriteCss('a{b:URL(x.png)}', tag)).toBe('a{b:url("P(x.png)")}');
  });
});

describe('rewriteSrcset', () => {
  it('rewrites each candidate and keeps descriptors', () => {
    expect(rewriteSrcset('a.png 1x, b.png 2x', tag)).toBe('P(a.png) 1x, P(b.png) 2x');
    expect(rewriteSrcset(' a.png, b.png 480w ', tag)).toBe('P(a.png), P(b.png) 480w');
    // As in the HTML standard: a comma with no space after it belongs to the URL.
    expect(rewriteSrcset('a.png,b.png 2x', tag)).toBe('P(a.png,b.png) 2x');
  });

  it('keeps commas inside URLs', () => {
    expect(rewriteSrcset('data:image/png;base64,AAA= 1x, c.png 2x', (u) => `[${u}]`)).toBe(
      '[data:image/png;base64,AAA=] 1x, [c.png] 2x',
    );
  });
});

describe('rewriteRefresh', () => {
  it('rewrites the URL and keeps the delay', () => {
    expect(rewriteRefresh('5; url=/next', tag)).toBe('5; url=P(/next)');
    expect(rewriteRefresh("0;URL='http://a.b/'", tag)).toBe('0; url=P(http://a.b/)');
    expect(rewriteRefresh('3, next.html', tag)).toBe('3; url=P(next.html)');
  });

  it('leaves a plain reload and nonsense alone', () => {
    expect(rewriteRefresh('30', tag)).toBe('30');
    expect(rewriteRefresh('soon', tag)).toBe('soon');
  });
});
