import { createCipheriv, createDecipheriv } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NoiseError } from '../errors.ts';
import { expectNoiseError, flipBit } from './noise-helpers.ts';
import { CipherState } from '../noise/cipher-state.ts';
import { MAX_MESSAGE_LENGTH, MAX_NONCE, chachaPolyNonce } from '../noise/crypto-suite.ts';

const key32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const nonce64 = fc.bigInt({ min: 0n, max: MAX_NONCE - 1n });
const bytes = fc.uint8Array({ maxLength: 300, size: 'max' });

function nodeSeal(key: Uint8Array, n: bigint, ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const cipher = createCipheriv('chacha20-poly1305', key, chachaPolyNonce(n), {
    authTagLength: 16,
  });
  cipher.setAAD(ad, { plaintextLength: plaintext.length });
  return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

function nodeOpen(key: Uint8Array, n: bigint, ad: Uint8Array, sealed: Uint8Array): Uint8Array {
  const decipher = createDecipheriv('chacha20-poly1305', key, chachaPolyNonce(n), {
    authTagLength: 16,
  });
  decipher.setAAD(ad, { plaintextLength: sealed.length - 16 });
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]);
}

describe('CipherState against node:crypto chacha20-poly1305', () => {
  it('encrypts exactly as node:crypto does, for any key, nonce, AD and plaintext', () => {
    fc.assert(
      fc.property(key32, nonce64, bytes, bytes, (key, n, ad, plaintext) => {
        const state = new CipherState(key);
        state.setNonce(n);
        const sealed = state.encryptWithAd(ad, plaintext);
        expect(Buffer.from(sealed)).toEqual(Buffer.from(nodeSeal(key, n, ad, plaintext)));
        expect(state.nonce).toBe(n + 1n);
      }),
      { numRuns: 300 },
    );
  });

  it('decrypts what node:crypto sealed', () => {
    fc.assert(
      fc.property(key32, nonce64, bytes, bytes, (key, n, ad, plaintext) => {
        const state = new CipherState(key);
        state.setNonce(n);
        expect(state.decryptWithAd(ad, nodeSeal(key, n, ad, plaintext))).toEqual(plaintext);
      }),
      { numRuns: 300 },
    );
  });

  it('encodes the nonce as 4 zero bytes then the 64-bit counter little-endian', () => {
    expect(Buffer.from(chachaPolyNonce(0x0102030405060708n)).toString('hex')).toBe(
      '000000000807060504030201',
    );
    const key = new Uint8Array(32).fill(7);
    const state = new CipherState(key);
    state.setNonce(2 ** 40 + 5);
    const sealed = state.encryptWithAd(new Uint8Array(0), new Uint8Array([1, 2, 3]));
    expect(nodeOpen(key, 2n ** 40n + 5n, new Uint8Array(0), sealed)).toEqual(
      Buffer.from([1, 2, 3]),
    );
  });

  it('rekey() is ENCRYPT(k, 2^64-1, empty, zeros)[0..32] and keeps the nonce', () => {
    fc.assert(
      fc.property(key32, nonce64, (key, n) => {
        const state = new CipherState(key);
        state.setNonce(n);
        state.rekey();
        expect(state.nonce).toBe(n);
        const newKey = nodeSeal(key, MAX_NONCE, new Uint8Array(0), new Uint8Array(32)).subarray(
          0,
          32,
        );
        const sealed = state.encryptWithAd(new Uint8Array(0), new Uint8Array([9]));
        expect(nodeOpen(newKey, n, new Uint8Array(0), sealed)).toEqual(Buffer.from([9]));
      }),
      { numRuns: 50 },
    );
  });
});

describe('CipherState', () => {
  it('passes data through unchanged while it has no key', () => {
    const state = new CipherState();
    expect(state.hasKey()).toBe(false);
    const data = new Uint8Array([1, 2, 3]);
    const out = state.encryptWithAd(new Uint8Array([9]), data);
    expect(out).toEqual(data);
    expect(out).not.toBe(data);
    expect(state.decryptWithAd(new Uint8Array(0), new Uint8Array(0))).toEqual(new Uint8Array(0));
    expect(state.nonce).toBe(0n);
    expectNoiseError(() => state.rekey(), 'ERR_NOISE_STATE');
  });

  it('refuses the reserved nonce 2^64-1 for encrypt and decrypt', () => {
    const state = new CipherState(new Uint8Array(32));
    state.setNonce(2n ** 64n - 1n);
    expectNoiseError(
      () => state.encryptWithAd(new Uint8Array(0), new Uint8Array(1)),
      'ERR_NOISE_NONCE_EXHAUSTED',
    );
    expectNoiseError(
      () => state.decryptWithAd(new Uint8Array(0), new Uint8Array(17)),
      'ERR_NOISE_NONCE_EXHAUSTED',
    );
  });

  it('uses nonce 2^64-2 once and is exhausted after it', () => {
    const sender = new CipherState(new Uint8Array(32).fill(1));
    const receiver = new CipherState(new Uint8Array(32).fill(1));
    sender.setNonce(2n ** 64n - 2n);
    receiver.setNonce(2n ** 64n - 2n);
    const sealed = sender.encryptWithAd(new Uint8Array(0), new Uint8Array([5]));
    expect(receiver.decryptWithAd(new Uint8Array(0), sealed)).toEqual(new Uint8Array([5]));
    expectNoiseError(
      () => sender.encryptWithAd(new Uint8Array(0), new Uint8Array(1)),
      'ERR_NOISE_NONCE_EXHAUSTED',
    );
  });

  it('counts nonces with full 64-bit precision past 2^53', () => {
    const state = new CipherState(new Uint8Array(32));
    state.setNonce(2n ** 53n + 1n);
    state.encryptWithAd(new Uint8Array(0), new Uint8Array(0));
    expect(state.nonce).toBe(2n ** 53n + 2n);
  });

  it('rejects nonces that are not 64-bit unsigned integers', () => {
    const state = new CipherState(new Uint8Array(32));
    expect(() => state.setNonce(-1)).toThrow(RangeError);
    expect(() => state.setNonce(1.5)).toThrow(RangeError);
    expect(() => state.setNonce(2 ** 53)).toThrow(RangeError);
    expect(() => state.setNonce(-1n)).toThrow(RangeError);
    expect(() => state.setNonce(2n ** 64n)).toThrow(RangeError);
  });

  it('rejects keys that are not 32 bytes', () => {
    expectNoiseError(() => new CipherState(new Uint8Array(31)), 'ERR_NOISE_KEY');
    expectNoiseError(() => new CipherState().initializeKey(new Uint8Array(33)), 'ERR_NOISE_KEY');
  });

  it('resets the nonce when a key is installed', () => {
    const state = new CipherState(new Uint8Array(32));
    state.setNonce(10);
    state.initializeKey(new Uint8Array(32).fill(2));
    expect(state.nonce).toBe(0n);
  });

  it('keeps its own copy of the key', () => {
    const key = new Uint8Array(32).fill(3);
    const a = new CipherState(key);
    key.fill(4);
    const b = new CipherState(new Uint8Array(32).fill(3));
    const sealed = a.encryptWithAd(new Uint8Array(0), new Uint8Array([1]));
    expect(b.decryptWithAd(new Uint8Array(0), sealed)).toEqual(new Uint8Array([1]));
  });

  it('reports a ciphertext shorter than the tag as a length error', () => {
    const state = new CipherState(new Uint8Array(32));
    for (const length of [0, 1, 15]) {
      expectNoiseError(
        () => state.decryptWithAd(new Uint8Array(0), new Uint8Array(length)),
        'ERR_NOISE_MESSAGE_LENGTH',
      );
    }
    expect(state.nonce).toBe(0n);
  });

  it('refuses messages over the Noise limit of 65535 bytes', () => {
    const state = new CipherState(new Uint8Array(32));
    expectNoiseError(
      () => state.encryptWithAd(new Uint8Array(0), new Uint8Array(MAX_MESSAGE_LENGTH - 15)),
      'ERR_NOISE_MESSAGE_LENGTH',
    );
    expect(
      state.encryptWithAd(new Uint8Array(0), new Uint8Array(MAX_MESSAGE_LENGTH - 16)),
    ).toHaveLength(MAX_MESSAGE_LENGTH);
    expectNoiseError(
      () => state.decryptWithAd(new Uint8Array(0), new Uint8Array(MAX_MESSAGE_LENGTH + 1)),
      'ERR_NOISE_MESSAGE_LENGTH',
    );
  });

  it('fails on any single flipped bit and leaves the nonce where it was', () => {
    fc.assert(
      fc.property(key32, bytes, bytes, fc.nat(), (key, ad, plaintext, bit) => {
        const sender = new CipherState(key);
        const receiver = new CipherState(key);
        const sealed = sender.encryptWithAd(ad, plaintext);
        const forged = flipBit(sealed, bit % (sealed.length * 8));
        expectNoiseError(() => receiver.decryptWithAd(ad, forged), 'ERR_NOISE_DECRYPT');
        expect(receiver.nonce).toBe(0n);
        expect(receiver.decryptWithAd(ad, sealed)).toEqual(plaintext);
        expect(receiver.nonce).toBe(1n);
      }),
      { numRuns: 300 },
    );
  });

  it('fails when the AD differs', () => {
    const sender = new CipherState(new Uint8Array(32));
    const receiver = new CipherState(new Uint8Array(32));
    const sealed = sender.encryptWithAd(new Uint8Array([1]), new Uint8Array([2]));
    expectNoiseError(
      () => receiver.decryptWithAd(new Uint8Array([3]), sealed),
      'ERR_NOISE_DECRYPT',
    );
  });

  it('throws TypeError for arguments that are not bytes', () => {
    const state = new CipherState(new Uint8Array(32));
    const notBytes: unknown = 'text';
    // @ts-expect-error: deliberately wrong type, as a JavaScript caller could pass
    expect(() => state.encryptWithAd(new Uint8Array(0), notBytes)).toThrow(TypeError);
    // @ts-expect-error: deliberately wrong type
    expect(() => state.decryptWithAd(notBytes, new Uint8Array(16))).toThrow(TypeError);
    expect(() => state.decryptWithAd(new Uint8Array(0), new Uint8Array(16))).toThrow(NoiseError);
  });
});
