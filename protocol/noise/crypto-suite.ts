/**
 * The only Noise crypto suite we speak: 25519 + ChaChaPoly + (SHA256 | BLAKE2s).
 * Thin wrappers over @noble so that the state machine never calls a primitive
 * directly and every primitive failure surfaces as a `NoiseError`.
 */
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { blake2s } from '@noble/hashes/blake2.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { NoiseError } from '../errors.ts';
import { assertKey } from './validate.ts';

/** Bytes in an X25519 public key, secret key and shared secret. */
export const DHLEN = 32;
/** Bytes in a ChaChaPoly key. */
export const KEYLEN = 32;
/** Bytes in a Poly1305 tag. */
export const TAGLEN = 16;
/** Output bytes of both SHA-256 and BLAKE2s, so no truncation is ever needed. */
export const HASHLEN = 32;
/** Spec §3: no Noise message, handshake or transport, may exceed this. */
export const MAX_MESSAGE_LENGTH = 65535;
/** Spec §5.1: reserved for rekey, so a cipher state must never encrypt with it. */
export const MAX_NONCE = 2n ** 64n - 1n;

export type KeyPair = { secretKey: Uint8Array; publicKey: Uint8Array };

/** A fresh X25519 key pair from the platform CSPRNG (`crypto.getRandomValues`). */
export function generateKeyPair(): KeyPair {
  const secretKey = x25519.utils.randomSecretKey();
  return { secretKey, publicKey: x25519.getPublicKey(secretKey) };
}

/** The X25519 key pair for a stored 32-byte secret (e.g. an egress key loaded from disk). */
export function keyPairFromSecret(secret: Uint8Array): KeyPair {
  assertKey('secret', secret, DHLEN);
  const secretKey = secret.slice();
  return { secretKey, publicKey: x25519.getPublicKey(secretKey) };
}

/**
 * X25519. noble refuses low-order public keys (they would yield an all-zero
 * secret that an attacker can predict); that is the peer's fault, so it is a
 * key error, never a crash.
 */
export function dh(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  assertKey('secretKey', secretKey, DHLEN);
  assertKey('publicKey', publicKey, DHLEN);
  try {
    return x25519.getSharedSecret(secretKey, publicKey);
  } catch {
    throw new NoiseError('ERR_NOISE_KEY', 'DH failed: the public key has low order');
  }
}

/** Spec §12.3: 32 bits of zeros, then the 64-bit counter little-endian. */
export function chachaPolyNonce(n: bigint): Uint8Array {
  const nonce = new Uint8Array(12);
  new DataView(nonce.buffer).setBigUint64(4, n, true);
  return nonce;
}

export function encrypt(
  key: Uint8Array,
  n: bigint,
  ad: Uint8Array,
  plaintext: Uint8Array,
): Uint8Array {
  return chacha20poly1305(key, chachaPolyNonce(n), ad).encrypt(plaintext);
}

export function decrypt(
  key: Uint8Array,
  n: bigint,
  ad: Uint8Array,
  ciphertext: Uint8Array,
): Uint8Array {
  if (ciphertext.length < TAGLEN) {
    throw new NoiseError(
      'ERR_NOISE_MESSAGE_LENGTH',
      `ciphertext: expected at least ${TAGLEN} bytes, got ${ciphertext.length}`,
    );
  }
  try {
    return chacha20poly1305(key, chachaPolyNonce(n), ad).decrypt(ciphertext);
  } catch {
    throw new NoiseError('ERR_NOISE_DECRYPT', 'ciphertext failed authentication');
  }
}

/** Spec §4.2 REKEY: the first 32 bytes of ENCRYPT(k, maxnonce, zerolen, zeros). */
export function rekeyKey(key: Uint8Array): Uint8Array {
  return encrypt(key, MAX_NONCE, new Uint8Array(0), new Uint8Array(KEYLEN)).slice(0, KEYLEN);
}

export type HashName = 'SHA256' | 'BLAKE2s';

export interface NoiseHash {
  readonly name: HashName;
  /** HASH(parts[0] || parts[1] || …), without building the concatenation. */
  hash(...parts: readonly Uint8Array[]): Uint8Array;
  /** HMAC-HASH(key, parts[0] || parts[1] || …). */
  hmac(key: Uint8Array, ...parts: readonly Uint8Array[]): Uint8Array;
}

function noiseHash(name: HashName, fn: typeof sha256 | typeof blake2s): NoiseHash {
  return Object.freeze({
    name,
    hash(...parts: readonly Uint8Array[]): Uint8Array {
      const state = fn.create();
      for (const part of parts) state.update(part);
      return state.digest();
    },
    hmac(key: Uint8Array, ...parts: readonly Uint8Array[]): Uint8Array {
      const state = hmac.create(fn, key);
      for (const part of parts) state.update(part);
      return state.digest();
    },
  });
}

export const SHA256: NoiseHash = noiseHash('SHA256', sha256);
export const BLAKE2S: NoiseHash = noiseHash('BLAKE2s', blake2s);
