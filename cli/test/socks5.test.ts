import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  encodeReply,
  greetingReply,
  parseGreeting,
  parseRequest,
  SOCKS_REPLY,
  SocksError,
} from '../socks5.ts';
import { formatIpv6 } from '../../server-kit/ip-address.ts';

const b = (...values: number[]): Uint8Array => Uint8Array.from(values);

function refusal(input: Uint8Array, parse: (bytes: Uint8Array) => unknown): SocksError {
  try {
    parse(input);
  } catch (err) {
    if (err instanceof SocksError) return err;
    throw err;
  }
  throw new Error('accepted');
}

describe('SOCKS5 greeting', () => {
  it('accepts a no-auth offer and waits for the rest of a partial greeting', () => {
    expect(parseGreeting(b())).toBeUndefined();
    expect(parseGreeting(b(5))).toBeUndefined();
    expect(parseGreeting(b(5, 2, 0))).toBeUndefined();
    const parsed = parseGreeting(b(5, 2, 2, 0, 0xaa));
    expect(parsed).toEqual({ greeting: { methods: [2, 0] }, length: 4 });
    expect(greetingReply(parsed!.greeting)).toEqual(b(5, 0));
  });

  it('answers "no acceptable method" when no-auth is not offered', () => {
    expect(greetingReply({ methods: [2] })).toEqual(b(5, 0xff));
  });

  it('refuses SOCKS4, HTTP and an empty method list without a reply code', () => {
    expect(refusal(b(4, 1, 0, 80), parseGreeting).reply).toBeUndefined();
    expect(
      refusal(new Uint8Array(Buffer.from('GET / HTTP/1.1')), parseGreeting).reply,
    ).toBeUndefined();
    expect(refusal(b(5, 0), parseGreeting).reply).toBeUndefined();
  });
});

describe('SOCKS5 request', () => {
  it('parses IPv4, domain and IPv6 CONNECT requests at any split point', () => {
    const cases: [Uint8Array, { host: string; port: number; addressType: string }][] = [
      [
        b(5, 1, 0, 1, 127, 0, 0, 1, 0x1f, 0x90),
        { host: '127.0.0.1', port: 8080, addressType: 'ipv4' },
      ],
      [
        b(5, 1, 0, 3, 11, ...Buffer.from('example.org'), 1, 0xbb),
        { host: 'example.org', port: 443, addressType: 'domain' },
      ],
      [
        b(5, 1, 0, 4, ...new Array<number>(15).fill(0), 1, 0, 80),
        { host: '::1', port: 80, addressType: 'ipv6' },
      ],
    ];
    for (const [bytes, expected] of cases) {
      for (let cut = 0; cut < bytes.length; cut++) {
        expect(parseRequest(bytes.subarray(0, cut))).toBeUndefined();
      }
      const withData = new Uint8Array([...bytes, 0x16, 0x03]);
      expect(parseRequest(withData)).toEqual({ request: expected, length: bytes.length });
    }
  });

  it.each([
    ['BIND', b(5, 2, 0, 1, 1, 2, 3, 4, 0, 80), SOCKS_REPLY.commandNotSupported],
    ['UDP ASSOCIATE', b(5, 3, 0, 1, 1, 2, 3, 4, 0, 80), SOCKS_REPLY.commandNotSupported],
    [
      'an unknown address type',
      b(5, 1, 0, 9, 1, 2, 3, 4, 0, 80),
      SOCKS_REPLY.addressTypeNotSupported,
    ],
    ['a wrong version', b(4, 1, 0, 1, 1, 2, 3, 4, 0, 80), SOCKS_REPLY.generalFailure],
    ['a non-zero reserved byte', b(5, 1, 7, 1, 1, 2, 3, 4, 0, 80), SOCKS_REPLY.generalFailure],
    ['an empty domain', b(5, 1, 0, 3, 0, 0, 80), SOCKS_REPLY.generalFailure],
    [
      'a domain with a space',
      b(5, 1, 0, 3, 3, 0x61, 0x20, 0x62, 0, 80),
      SOCKS_REPLY.generalFailure,
    ],
    ['a domain with a NUL', b(5, 1, 0, 3, 2, 0x61, 0, 0, 80), SOCKS_REPLY.generalFailure],
    ['port 0', b(5, 1, 0, 1, 1, 2, 3, 4, 0, 0), SOCKS_REPLY.generalFailure],
  ])('refuses %s with its reply code', (_what, bytes, code) => {
    expect(refusal(bytes, parseRequest).reply).toBe(code);
  });

  it('encodes replies as VER REP RSV ATYP 0.0.0.0:0', () => {
    expect(encodeReply(SOCKS_REPLY.networkUnreachable)).toEqual(b(5, 3, 0, 1, 0, 0, 0, 0, 0, 0));
  });

  it('formats IPv6 as RFC 5952 text', () => {
    const addr = (groups: number[]): Uint8Array =>
      Uint8Array.from(groups.flatMap((g) => [g >> 8, g & 0xff]));
    expect(formatIpv6(addr([0, 0, 0, 0, 0, 0, 0, 0]))).toBe('::');
    expect(formatIpv6(addr([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1]))).toBe('2001:db8::1:0:0:1');
    expect(formatIpv6(addr([0x2001, 0xdb8, 0, 1, 1, 1, 1, 1]))).toBe('2001:db8:0:1:1:1:1:1');
    expect(formatIpv6(addr([0xfe80, 0, 0, 0, 0, 0, 0, 0]))).toBe('fe80::');
  });

  it('never throws anything but SocksError on random input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (input) => {
        for (const parse of [parseGreeting, parseRequest]) {
          try {
            const parsed = parse(input);
            if (parsed) expect(parsed.length).toBeLessThanOrEqual(input.length);
          } catch (err) {
            expect(err).toBeInstanceOf(SocksError);
          }
        }
      }),
      { numRuns: 5_000 },
    );
  });
});
