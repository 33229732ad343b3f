import {
  createHash,
  createHmac,
  diffieHellman,
  createPrivateKey,
  createPublicKey,
  hkdfSync,
} from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToBase64url } from '../bytes.ts';
import { expectNoiseError } from './noise-helpers.ts';
import { BLAKE2S, SHA256, dh, generateKeyPair, keyPairFromSecret } from '../noise/crypto-suite.ts';
import { hkdf } from '../noise/hkdf.ts';

const bytes = fc.uint8Array({ maxLength: 300, size: 'max' });
const key32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const suites = [
  { hash: SHA256, node: 'sha256' },
  { hash: BLAKE2S, node: 'blake2s256' },
] as const;

function hex(data: Uint8Array): string {
  return Buffer.from(data).toString('hex');
}

describe.each(suites)('$hash.name against node:crypto $node', ({ hash, node }) => {
  it('HASH of the concatenated parts', () => {
    fc.assert(
      fc.property(fc.array(bytes, { maxLength: 4 }), (parts) => {
        const expected = createHash(node);
        for (const part of parts) expected.update(part);
        expect(hex(hash.hash(...parts))).toBe(expected.digest('hex'));
      }),
      { numRuns: 300 },
    );
  });

  it('HMAC with keys shorter and longer than the block', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), bytes, bytes, (key, a, b) => {
        const expected = createHmac(node, key).update(a).update(b).digest('hex');
        expect(hex(hash.hmac(key, a, b))).toBe(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('Noise HKDF equals RFC 5869 HKDF with the chaining key as salt and empty info', () => {
    fc.assert(
      fc.property(key32, fc.oneof(fc.constant(new Uint8Array(0)), key32), (ck, ikm) => {
        const expected = Buffer.from(hkdfSync(node, ikm, ck, new Uint8Array(0), 96));
        const [a, b, c] = hkdf(hash, ck, ikm, 3);
        expect(hex(a) + hex(b) + hex(c)).toBe(expected.toString('hex'));
        const [d, e] = hkdf(hash, ck, ikm, 2);
        expect(hex(d) + hex(e)).toBe(expected.subarray(0, 64).toString('hex'));
      }),
      { numRuns: 200 },
    );
  });
});

describe('X25519', () => {
  function nodeDh(secret: Uint8Array, peerPublic: Uint8Array): Uint8Array {
    const own = keyPairFromSecret(secret);
    const privateKey = createPrivateKey({
      format: 'jwk',
      key: {
        kty: 'OKP',
        crv: 'X25519',
        d: bytesToBase64url(secret),
        x: bytesToBase64url(own.publicKey),
      },
    });
    const publicKey = createPublicKey({
      format: 'jwk',
      key: { kty: 'OKP', crv: 'X25519', x: bytesToBase64url(peerPublic) },
    });
    return diffieHellman({ privateKey, publicKey });
  }

  it('agrees with node:crypto', () => {
    fc.assert(
      fc.property(key32, key32, (secretA, secretB) => {
        const b = keyPairFromSecret(secretB);
        expect(hex(dh(secretA, b.publicKey))).toBe(hex(nodeDh(secretA, b.publicKey)));
      }),
      { numRuns: 20 },
    );
  });

  it('generates key pairs whose DH results agree', () => {
    const a = generateKeyPair();
    const b = generateKeyPair();
    expect(dh(a.secretKey, b.publicKey)).toEqual(dh(b.secretKey, a.publicKey));
    expect(keyPairFromSecret(a.secretKey).publicKey).toEqual(a.publicKey);
  });

  it('maps low-order public keys to ERR_NOISE_KEY', () => {
    const { secretKey } = generateKeyPair();
    const lowOrder = [
      '0000000000000000000000000000000000000000000000000000000000000000',
      '0100000000000000000000000000000000000000000000000000000000000000',
      'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
      '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
      'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
      'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    ];
    for (const key of lowOrder) {
      expectNoiseError(() => dh(secretKey, Buffer.from(key, 'hex')), 'ERR_NOISE_KEY');
    }
  });

  it('rejects secrets and public keys of the wrong length', () => {
    expectNoiseError(() => keyPairFromSecret(new Uint8Array(31)), 'ERR_NOISE_KEY');
    expectNoiseError(() => dh(new Uint8Array(32), new Uint8Array(33)), 'ERR_NOISE_KEY');
  });
});
