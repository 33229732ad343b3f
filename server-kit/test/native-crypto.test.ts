/**
 * The node:crypto primitives (native-crypto.ts): the cacophony vectors with them installed,
 * and a cross-check against @noble for random inputs, each side opening what the other sealed.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NoiseError } from '../../protocol/errors.ts';
import {
  NOBLE_PRIMITIVES,
  cryptoPrimitives,
  dh,
  generateKeyPair,
  useCryptoPrimitives,
} from '../../protocol/noise/crypto-suite.ts';
import { describeCacophonyVectors } from '../../protocol/test/cacophony.ts';
import { installCryptoPrimitives, NATIVE_PRIMITIVES } from '../native-crypto.ts';

const RUNS = Number(process.env['BU_FUZZ_RUNS'] ?? 200);
const NATIVE = NATIVE_PRIMITIVES;
const NOBLE = NOBLE_PRIMITIVES;
const bytes = (length: number) => fc.uint8Array({ minLength: length, maxLength: length });

describe('with node:crypto installed', () => {
  beforeAll(() => useCryptoPrimitives(NATIVE));
  afterAll(() => useCryptoPrimitives(NOBLE));

  it('is what Noise uses', () => {
    expect(cryptoPrimitives().name).toBe('native');
  });

  describeCacophonyVectors('Noise cacophony vectors (native)');

  it('refuses a low-order public key as ERR_NOISE_KEY', () => {
    const { secretKey } = generateKeyPair();
    for (const low of [new Uint8Array(32), Uint8Array.of(1, ...new Uint8Array(31))]) {
      expect(() => dh(secretKey, low)).toThrow(NoiseError);
    }
  });
});

describe('node:crypto and @noble agree', () => {
  it('on ChaCha20-Poly1305: each opens what the other sealed, and refuses it altered', () => {
    fc.assert(
      fc.property(
        bytes(32),
        bytes(12),
        fc.uint8Array({ maxLength: 64 }),
        fc.uint8Array({ maxLength: 20_000 }),
        (key, nonce, ad, plaintext) => {
          const native = NATIVE.seal(key, nonce, ad, plaintext);
          const noble = NOBLE.seal(key, nonce, ad, plaintext);
          expect(native).toEqual(noble);
          expect(NOBLE.open(key, nonce, ad, native)).toEqual(plaintext);
          expect(NATIVE.open(key, nonce, ad, noble)).toEqual(plaintext);
          const altered = native.slice();
          altered[altered.length - 1] = (altered[altered.length - 1] ?? 0) ^ 1;
          expect(() => NATIVE.open(key, nonce, ad, altered)).toThrow();
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('on X25519: the same public keys and shared secrets', () => {
    fc.assert(
      fc.property(bytes(32), bytes(32), (a, b) => {
        const publicA = NATIVE.x25519PublicKey(a);
        expect(publicA).toEqual(NOBLE.x25519PublicKey(a));
        const publicB = NOBLE.x25519PublicKey(b);
        expect(NATIVE.x25519(a, publicB)).toEqual(NOBLE.x25519(b, publicA));
      }),
      { numRuns: RUNS },
    );
    const fresh = NATIVE.x25519SecretKey();
    expect(fresh.length).toBe(32);
    expect(NATIVE.x25519PublicKey(fresh)).toEqual(NOBLE.x25519PublicKey(fresh));
  });

  it('on SHA-256 and HMAC-SHA-256', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 100 }),
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 4 }),
        (key, parts) => {
          expect(NATIVE.sha256(parts)).toEqual(NOBLE.sha256(parts));
          expect(NATIVE.hmacSha256(key, parts)).toEqual(NOBLE.hmacSha256(key, parts));
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('BU_CRYPTO', () => {
  it('chooses native by default, noble on request, and refuses anything else', () => {
    try {
      expect(installCryptoPrimitives(undefined)).toBe('native');
      expect(installCryptoPrimitives('noble')).toBe('noble');
      expect(installCryptoPrimitives('native')).toBe('native');
      expect(() => installCryptoPrimitives('fast')).toThrow(/BU_CRYPTO/);
    } finally {
      useCryptoPrimitives(NOBLE);
    }
  });
});
