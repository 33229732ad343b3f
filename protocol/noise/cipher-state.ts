/** Noise CipherState (spec §5.1): a key and a 64-bit nonce counter. */
import { NoiseError } from '../errors.ts';
import {
  KEYLEN,
  MAX_MESSAGE_LENGTH,
  MAX_NONCE,
  TAGLEN,
  decrypt,
  encrypt,
  rekeyKey,
} from './crypto-suite.ts';
import { assertBytes, assertKey } from './validate.ts';

export class CipherState {
  #key: Uint8Array | null = null;
  // bigint because the counter is 64 bits wide and a number loses precision past 2^53.
  #nonce = 0n;

  constructor(key: Uint8Array | null = null) {
    this.initializeKey(key);
  }

  /** Sets the key (or clears it with `null`) and resets the nonce to 0. */
  initializeKey(key: Uint8Array | null): void {
    if (key === null) {
      this.#key = null;
    } else {
      assertKey('key', key, KEYLEN);
      // Our own copy, so a caller reusing its buffer cannot change the key under us.
      this.#key = key.slice();
    }
    this.#nonce = 0n;
  }

  hasKey(): boolean {
    return this.#key !== null;
  }

  /** The nonce the next encrypt or decrypt will use. */
  get nonce(): bigint {
    return this.#nonce;
  }

  /**
   * Sets the nonce for the next operation, for transports that carry explicit
   * sequence numbers. 2^64-1 is accepted here but every later encrypt or
   * decrypt refuses it, as the spec reserves it.
   */
  setNonce(nonce: number | bigint): void {
    let n: bigint;
    if (typeof nonce === 'bigint') {
      n = nonce;
    } else if (typeof nonce === 'number') {
      if (!Number.isSafeInteger(nonce)) {
        throw new RangeError(`nonce: expected a safe integer, got ${nonce}`);
      }
      n = BigInt(nonce);
    } else {
      throw new TypeError(`nonce: expected a number or bigint, got ${typeof nonce}`);
    }
    if (n < 0n || n > MAX_NONCE) {
      throw new RangeError(`nonce: expected 0 ≤ nonce ≤ 2^64-1, got ${n}`);
    }
    this.#nonce = n;
  }

  /** Without a key the plaintext comes back unchanged (as a copy), per the spec. */
  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    assertBytes('ad', ad);
    assertBytes('plaintext', plaintext);
    if (this.#key === null) return plaintext.slice();
    this.#checkNonce();
    if (plaintext.length > MAX_MESSAGE_LENGTH - TAGLEN) {
      throw new NoiseError(
        'ERR_NOISE_MESSAGE_LENGTH',
        `plaintext: expected at most ${MAX_MESSAGE_LENGTH - TAGLEN} bytes, got ${plaintext.length}`,
      );
    }
    const ciphertext = encrypt(this.#key, this.#nonce, ad, plaintext);
    this.#nonce += 1n;
    return ciphertext;
  }

  /**
   * Without a key the ciphertext comes back unchanged (as a copy). On an
   * authentication failure the nonce stays put, so the caller may drop the
   * forged message and still read the genuine one that follows.
   */
  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    assertBytes('ad', ad);
    assertBytes('ciphertext', ciphertext);
    if (this.#key === null) return ciphertext.slice();
    this.#checkNonce();
    if (ciphertext.length > MAX_MESSAGE_LENGTH) {
      throw new NoiseError(
        'ERR_NOISE_MESSAGE_LENGTH',
        `ciphertext: expected at most ${MAX_MESSAGE_LENGTH} bytes, got ${ciphertext.length}`,
      );
    }
    const plaintext = decrypt(this.#key, this.#nonce, ad, ciphertext);
    this.#nonce += 1n;
    return plaintext;
  }

  /** Spec §4.2: replaces the key with a one-way function of itself; the nonce is kept. */
  rekey(): void {
    if (this.#key === null) throw new NoiseError('ERR_NOISE_STATE', 'rekey: no key to rekey');
    this.#key = rekeyKey(this.#key);
  }

  #checkNonce(): void {
    if (this.#nonce >= MAX_NONCE) {
      throw new NoiseError('ERR_NOISE_NONCE_EXHAUSTED', 'nonce exhausted: start a new session');
    }
  }
}
