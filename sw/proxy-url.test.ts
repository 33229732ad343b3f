import { describe, expect, it } from 'vitest';
import { decodeProxyPath, encodeProxyPath, isProxyPath, proxyUrlFor } from './proxy-url.ts';

const SITE = 'http://127.0.0.1:8080';

describe('proxy addresses', () => {
  it('encodes http(s) URLs under /~/ and decodes them back', () => {
    for (const target of [
      'https://example.com/',
      'http://127.0.0.1:9000/a/b?c=d&e=%20f',
      'https://[::1]:8443/x',
      'https://example.com/p%2Fq?x=1#frag',
    ]) {
      const path = encodeProxyPath(target);
      expect(isProxyPath(path)).toBe(true);
      const back = decodeProxyPath(path);
      expect(back?.href.split('#')[0]).toBe(new URL(target).href.split('#')[0]);
      expect(decodeProxyPath(SITE + path, SITE)?.href).toBe(back?.href);
    }
  });

  it('refuses other schemes, credentials, other origins and paths outside the prefix', () => {
    expect(() => encodeProxyPath('ftp://example.com/')).toThrow(TypeError);
    expect(decodeProxyPath('/~/ftp://example.com/')).toBeUndefined();
    expect(decodeProxyPath('/~/https://user:pw@example.com/')).toBeUndefined();
    expect(decodeProxyPath('/~/not a url')).toBeUndefined();
    expect(decodeProxyPath('/browse/')).toBeUndefined();
    expect(decodeProxyPath('http://evil.example/~/https://a.b/', SITE)).toBeUndefined();
  });

  it('repairs a scheme whose slashes were merged', () => {
    expect(decodeProxyPath('/~/https:/example.com/a')?.href).toBe('https://example.com/a');
  });

  it('rewrites page URLs against the real base', () => {
    const base = 'https://example.com/dir/page.html';
    expect(proxyUrlFor('other.html', base, SITE)).toBe('/~/https://example.com/dir/other.html');
    expect(proxyUrlFor('/root.css', base, SITE)).toBe('/~/https://example.com/root.css');
    expect(proxyUrlFor('//cdn.example/x.js', base, SITE)).toBe('/~/https://cdn.example/x.js');
    expect(proxyUrlFor('http://plain.example/?q=1#h', base, SITE)).toBe(
      '/~/http://plain.example/?q=1#h',
    );
  });

  it('keeps fragments, local schemes and already proxied URLs; blocks the rest', () => {
    const base = 'https://example.com/';
    expect(proxyUrlFor('#top', base, SITE)).toBe('#top');
    expect(proxyUrlFor('data:text/plain,hi', base, SITE)).toBe('data:text/plain,hi');
    expect(proxyUrlFor('javascript:void(0)', base, SITE)).toBe('javascript:void(0)');
    expect(proxyUrlFor('/~/https://a.b/', base, SITE)).toBe('/~/https://a.b/');
    expect(proxyUrlFor(`${SITE}/~/https://a.b/`, base, SITE)).toBe(`${SITE}/~/https://a.b/`);
    expect(proxyUrlFor('ftp://files.example/', base, SITE)).toBe('about:blank#blocked');
    expect(proxyUrlFor('http://[bad', base, SITE)).toBe('about:blank#blocked');
    expect(proxyUrlFor('', base, SITE)).toBe('');
  });
});
