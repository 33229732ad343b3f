/** Noise SymmetricState (spec §5.2): the chaining key, the handshake hash and a CipherState. */
import { utf8Encode } from '../bytes.ts';
import { CipherState } from './cipher-state.ts';
import { HASHLEN, KEYLEN } from './crypto-suite.ts';
import type { NoiseHash } from './crypto-suite.ts';
import { hkdf } from './hkdf.ts';

const EMPTY = new Uint8Array(0);

export class SymmetricState {
  readonly #hash: NoiseHash;
  readonly #cipher = new CipherState();
  #chainingKey: Uint8Array;
  #handshakeHash: Uint8Array;

  /** InitializeSymmetric. */
  constructor(protocolName: string, hash: NoiseHash) {
    this.#hash = hash;
    const name = utf8Encode(protocolName);
    if (name.length <= HASHLEN) {
      this.#handshakeHash = new Uint8Array(HASHLEN);
      this.#handshakeHash.set(name);
    } else {
      this.#handshakeHash = hash.hash(name);
    }
    this.#chainingKey = this.#handshakeHash.slice();
  }

  mixKey(inputKeyMaterial: Uint8Array): void {
    const [chainingKey, tempKey] = hkdf(this.#hash, this.#chainingKey, inputKeyMaterial, 2);
    this.#chainingKey = chainingKey;
    // HASHLEN is 32 for both our hashes, so this truncation never drops a byte today.
    this.#cipher.initializeKey(tempKey.subarray(0, KEYLEN));
  }

  mixHash(data: Uint8Array): void {
    this.#handshakeHash = this.#hash.hash(this.#handshakeHash, data);
  }

  hasKey(): boolean {
    return this.#cipher.hasKey();
  }

  getHandshakeHash(): Uint8Array {
    return this.#handshakeHash.slice();
  }

  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    const ciphertext = this.#cipher.encryptWithAd(this.#handshakeHash, plaintext);
    this.mixHash(ciphertext);
    return ciphertext;
  }

  decryptAndHash(ciphertext: Uint8Array): Uint8Array {
    const plaintext = this.#cipher.decryptWithAd(this.#handshakeHash, ciphertext);
    this.mixHash(ciphertext);
    return plaintext;
  }

  /** The two transport cipher states: initiator→responder first. */
  split(): [CipherState, CipherState] {
    const [key1, key2] = hkdf(this.#hash, this.#chainingKey, EMPTY, 2);
    return [new CipherState(key1.subarray(0, KEYLEN)), new CipherState(key2.subarray(0, KEYLEN))];
  }
}
