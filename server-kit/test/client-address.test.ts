import { describe, expect, it } from 'vitest';
import { addressGroup } from '../client-address.ts';
import { parseRequestTarget } from '../request-target.ts';

describe('addressGroup', () => {
  it('keeps IPv4 addresses as they are', () => {
    expect(addressGroup('192.0.2.7')).toBe('192.0.2.7');
  });

  it('groups IPv6 addresses by their /64 (or the prefix given), whatever the spelling', () => {
    const a = addressGroup('2001:db8:1:2::1');
    expect(a).toBe('2001:db8:1:2:0:0:0:0/64');
    expect(addressGroup('2001:0db8:0001:0002:ffff:ffff:ffff:ffff')).toBe(a);
    expect(addressGroup('2001:db8:1:3::1')).not.toBe(a);
    expect(addressGroup('2001:db8:1:3::1', 48)).toBe(addressGroup('2001:db8:1:2::1', 48));
    expect(addressGroup('2001:db8:1:2::1', 128)).toBe('2001:db8:1:2::1');
    expect(addressGroup('fe80::1%eth0')).toBe('fe80:0:0:0:0:0:0:0/64');
  });

  it('leaves anything that is not an address alone', () => {
    expect(addressGroup('')).toBe('');
    expect(addressGroup('not an address')).toBe('not an address');
  });
});

describe('parseRequestTarget', () => {
  it('reads origin-form and absolute-form targets', () => {
    expect(parseRequestTarget('/a/b?c=d')?.searchParams.get('c')).toBe('d');
    expect(parseRequestTarget('//x/y')?.pathname).toBe('//x/y');
    expect(parseRequestTarget('http://h.example/p')?.pathname).toBe('/p');
  });

  it('refuses everything else', () => {
    const bad = [undefined, '', '*', 'h:1', '//[', '/%', '/%g0', '/a b', '/a#b', '/é', 'http://['];
    for (const target of [...bad, `/${'a'.repeat(9000)}`]) {
      expect(parseRequestTarget(target)).toBeNull();
    }
  });
});
