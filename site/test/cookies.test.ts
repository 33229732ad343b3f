import { describe, expect, it } from 'vitest';
import {
  cookieApplies,
  cookieHeader,
  cookieKey,
  defaultPath,
  isCookie,
  jarDomains,
  parseSetCookie,
  type Cookie,
} from '../hub/cookies.ts';

const NOW = Date.UTC(2026, 0, 1);
const sameSite = { topLevel: undefined, safeTopLevelNavigation: true };
const parse = (header: string, url: string) => parseSetCookie(header, new URL(url), NOW);

describe('parseSetCookie', () => {
  it('reads name, value and attributes', () => {
    const c = parse(
      'sid=abc; Path=/app; Domain=.Example.com; Secure; HttpOnly; SameSite=Strict; Max-Age=60',
      'https://www.example.com/app/login',
    );
    expect(c).toMatchObject({
      name: 'sid',
      value: 'abc',
      domain: 'example.com',
      hostOnly: false,
      path: '/app',
      secure: true,
      httpOnly: true,
      sameSite: 'strict',
      expires: NOW + 60_000,
    });
    expect(isCookie(c)).toBe(true);
  });

  it('defaults: host-only, the directory of the path, a session cookie, Lax', () => {
    expect(parse('a=1', 'http://shop.example/cart/add')).toMatchObject({
      domain: 'shop.example',
      hostOnly: true,
      path: '/cart',
      expires: undefined,
      sameSite: 'lax',
    });
    expect(defaultPath('/')).toBe('/');
    expect(defaultPath('/x')).toBe('/');
  });

  it('Max-Age wins over Expires; Expires is read', () => {
    expect(parse('a=1; Expires=Thu, 01 Jan 2099 00:00:00 GMT', 'http://a.example/')?.expires).toBe(
      Date.UTC(2099, 0, 1),
    );
    expect(
      parse('a=1; Max-Age=0; Expires=Thu, 01 Jan 2099 00:00:00 GMT', 'http://a.example/')?.expires,
    ).toBe(NOW);
  });

  it('refuses what a browser refuses', () => {
    expect(parse('a=1; Domain=other.example', 'http://a.example/')).toBeUndefined();
    expect(parse('a=1; Domain=com', 'http://a.com/')).toBeUndefined();
    expect(parse('a=1; Secure', 'http://a.example/')).toBeUndefined();
    expect(parse('a=1; SameSite=None', 'https://a.example/')).toBeUndefined();
    expect(parse('__Secure-a=1', 'https://a.example/')).toBeUndefined();
    expect(
      parse('__Host-a=1; Secure; Path=/; Domain=a.example', 'https://a.example/'),
    ).toBeUndefined();
    expect(parse('__Host-a=1; Secure; Path=/', 'https://a.example/')).toBeDefined();
    expect(parse('a=1\x01', 'http://a.example/')).toBeUndefined();
    expect(parse(`a=${'x'.repeat(5000)}`, 'http://a.example/')).toBeUndefined();
  });
});

describe('which cookies go with a request', () => {
  const set = (header: string, url: string): Cookie => {
    const c = parse(header, url);
    if (!c) throw new Error(`refused: ${header}`);
    return c;
  };

  it('matches host, domain, path and Secure', () => {
    const hostOnly = set('h=1', 'http://a.example/');
    const domain = set('d=1; Domain=a.example', 'http://a.example/');
    const path = set('p=1; Path=/docs', 'http://a.example/');
    const secure = set('s=1; Secure', 'https://a.example/');
    const at = (url: string) =>
      [hostOnly, domain, path, secure]
        .filter((c) => cookieApplies(c, new URL(url), NOW, sameSite))
        .map((c) => c.name);
    expect(at('http://a.example/')).toEqual(['h', 'd']);
    expect(at('http://sub.a.example/')).toEqual(['d']);
    expect(at('http://a.example/docs/x')).toEqual(['h', 'd', 'p']);
    expect(at('http://a.example/docsx')).toEqual(['h', 'd']);
    expect(at('https://a.example/')).toEqual(['h', 'd', 's']);
    expect(at('http://b.example/')).toEqual([]);
  });

  it('drops expired cookies and honours SameSite for cross-site requests', () => {
    const gone = set('g=1; Max-Age=0', 'http://a.example/');
    expect(cookieApplies(gone, new URL('http://a.example/'), NOW, sameSite)).toBe(false);
    const lax = set('l=1', 'https://a.example/');
    const strict = set('s=1; SameSite=Strict', 'https://a.example/');
    const none = set('n=1; SameSite=None; Secure', 'https://a.example/');
    const sub = { topLevel: new URL('https://other.example/'), safeTopLevelNavigation: false };
    const names = [lax, strict, none]
      .filter((c) => cookieApplies(c, new URL('https://a.example/'), NOW, sub))
      .map((c) => c.name);
    expect(names).toEqual(['n']);
  });

  it('orders the header by path length, then age', () => {
    const a = { ...set('a=1; Path=/', 'http://x.example/'), created: 2 };
    const b = { ...set('b=2; Path=/deep', 'http://x.example/'), created: 3 };
    const c = { ...set('c=3; Path=/', 'http://x.example/'), created: 1 };
    expect(cookieHeader([a, b, c])).toBe('b=2; c=3; a=1');
  });

  it('keys and jars', () => {
    expect(cookieKey(set('a=1', 'http://x.example/p'))).toBe('=x.example;/;a');
    expect(jarDomains('www.shop.example')).toEqual(['www.shop.example', 'shop.example']);
    expect(jarDomains('127.0.0.1')).toEqual(['127.0.0.1']);
    expect(jarDomains('localhost')).toEqual(['localhost']);
    expect(isCookie({ name: 'x' })).toBe(false);
    expect(isCookie(null)).toBe(false);
  });
});
