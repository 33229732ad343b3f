import { describe, expect, it } from 'vitest';
import { proxyUrlFor, realUrlFor, sitePathFor, type SiteScope } from '../proxy-url.ts';

const SCOPE: SiteScope = {
  site: 'http://aaaaaaaaaaaaaaaaaaaaaaaaaa.localhost:8080',
  proxied: 'https://example.com',
};

describe('site addresses', () => {
  it('keeps the proxied origin’s own paths, and puts other origins under /~/', () => {
    for (const [target, address] of [
      ['https://example.com/', '/'],
      ['https://example.com/a/b?c=d&e=%20f#h', '/a/b?c=d&e=%20f#h'],
      ['https://example.com/~john/', '/~john/'],
      ['https://example.com/~/x', '/~/https://example.com/~/x'],
      ['https://example.com/~bu/x', '/~/https://example.com/~bu/x'],
      ['http://example.com/', '/~/http://example.com/'],
      ['https://cdn.example/x.js', '/~/https://cdn.example/x.js'],
      ['https://[::1]:8443/x', '/~/https://[::1]:8443/x'],
    ] as const) {
      expect(sitePathFor(new URL(target), SCOPE)).toBe(address);
      expect(realUrlFor(address, SCOPE)?.href).toBe(new URL(target).href);
      expect(realUrlFor(SCOPE.site + address, SCOPE)?.href).toBe(new URL(target).href);
    }
  });

  it('refuses other schemes, credentials, other origins and the site origin’s own files', () => {
    expect(() => sitePathFor(new URL('ftp://example.com/'), SCOPE)).toThrow(TypeError);
    expect(realUrlFor('/~/ftp://example.com/', SCOPE)).toBeUndefined();
    expect(realUrlFor('/~/https://user:pw@example.com/', SCOPE)).toBeUndefined();
    expect(realUrlFor('/~/not a url', SCOPE)).toBeUndefined();
    expect(realUrlFor('/~bu/boot', SCOPE)).toBeUndefined();
    expect(realUrlFor('http://evil.example/~/https://a.b/', SCOPE)).toBeUndefined();
  });

  it('repairs a scheme whose slashes were merged', () => {
    expect(realUrlFor('/~/https:/other.example/a', SCOPE)?.href).toBe('https://other.example/a');
  });

  it('rewrites page URLs against the real base', () => {
    const base = 'https://example.com/dir/page.html';
    // The site's own relative URLs stay as written: they resolve the same on the site origin.
    expect(proxyUrlFor('other.html', base, SCOPE)).toBe('other.html');
    expect(proxyUrlFor('/root.css', base, SCOPE)).toBe('/root.css');
    expect(proxyUrlFor('../up.html?q', base, SCOPE)).toBe('../up.html?q');
    expect(proxyUrlFor('/~/x', base, SCOPE)).toBe('/~/https://example.com/~/x');
    expect(proxyUrlFor('https://example.com/abs', base, SCOPE)).toBe('/abs');
    expect(proxyUrlFor('x.js', 'https://cdn.example/lib/', SCOPE)).toBe(
      '/~/https://cdn.example/lib/x.js',
    );
    expect(proxyUrlFor('//cdn.example/x.js', base, SCOPE)).toBe('/~/https://cdn.example/x.js');
    expect(proxyUrlFor('http://plain.example/?q=1#h', base, SCOPE)).toBe(
      '/~/http://plain.example/?q=1#h',
    );
  });

  it('keeps fragments, local schemes and site-origin URLs; blocks the rest', () => {
    const base = 'https://example.com/';
    expect(proxyUrlFor('#top', base, SCOPE)).toBe('#top');
    expect(proxyUrlFor('data:text/plain,hi', base, SCOPE)).toBe('data:text/plain,hi');
    expect(proxyUrlFor('javascript:void(0)', base, SCOPE)).toBe('javascript:void(0)');
    expect(proxyUrlFor(`${SCOPE.site}/x`, base, SCOPE)).toBe(`${SCOPE.site}/x`);
    // Another site origin is ours already, when the template is known.
    const other = 'http://bbbbbbbbbbbbbbbbbbbbbbbbbb.localhost:8080/p';
    expect(proxyUrlFor(other, base, { ...SCOPE, sites: 'http://{label}.localhost:8080' })).toBe(
      other,
    );
    expect(proxyUrlFor('ftp://files.example/', base, SCOPE)).toBe('about:blank#blocked');
    expect(proxyUrlFor('http://[bad', base, SCOPE)).toBe('about:blank#blocked');
    expect(proxyUrlFor('', base, SCOPE)).toBe('');
  });
});
