/**
 * The only Noise crypto suite we speak: 25519 + ChaChaPoly + (SHA256 | BLAKE2s).
 * Thin wrappers so that the state machine never calls a primitive directly and every
 * primitive failure surfaces as a `NoiseError`. The primitives themselves come from a
 * swappable set: @noble (pure JavaScript, what browsers run) by default, or the platform's
 * native ones, which Node installs at start (server-kit/native-crypto.ts, `BU_CRYPTO`).
 * Both pass the cacophony vectors and are cross-checked in the tests.
 */
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { blake2s } from '@noble/hashes/blake2.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { NoiseError } from '../errors.ts';
import { assertKey } from './validate.ts';

/** X25519, ChaCha20-Poly1305 (RFC 8439) and SHA-256 with its HMAC, from one implementation. */
export interface CryptoPrimitives {
  readonly name: string;
  /** A fresh X25519 secret key from the platform CSPRNG. */
  x25519SecretKey(): Uint8Array;
  x25519PublicKey(secretKey: Uint8Array): Uint8Array;
  /** The shared secret; throws (anything) for a low-order public key. */
  x25519(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array;
  /** Ciphertext ‖ 16-byte tag. */
  seal(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, plaintext: Uint8Array): Uint8Array;
  /** The plaintext; throws (anything) when authentication fails. */
  open(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, ciphertext: Uint8Array): Uint8Array;
  sha256(parts: readonly Uint8Array[]): Uint8Array;
  hmacSha256(key: Uint8Array, parts: readonly Uint8Array[]): Uint8Array;
}

export const NOBLE_PRIMITIVES: CryptoPrimitives = Object.freeze({
  name: 'noble',
  x25519SecretKey: () => x25519.utils.randomSecretKey(),
  x25519PublicKey: (secretKey: Uint8Array) => x25519.getPublicKey(secretKey),
  x25519: (secretKey: Uint8Array, publicKey: Uint8Array) =>
    x25519.getSharedSecret(secretKey, publicKey),
  seal: (key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, plaintext: Uint8Array) =>
    chacha20poly1305(key, nonce, ad).encrypt(plaintext),
  open: (key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, ciphertext: Uint8Array) =>
    chacha20poly1305(key, nonce, ad).decrypt(ciphertext),
  sha256(parts: readonly Uint8Array[]): Uint8Array {
    const state = sha256.create();
    for (const part of parts) state.update(part);
    return state.digest();
  },
  hmacSha256(key: Uint8Array, parts: readonly Uint8Array[]): Uint8Array {
    const state = hmac.create(sha256, key);
    for (const part of parts) state.update(part);
    return state.digest();
  },
});

let primitives: CryptoPrimitives = NOBLE_PRIMITIVES;

/** Which primitives every Noise operation uses from now on (Node installs native ones). */
export function useCryptoPrimitives(next: CryptoPrimitives): void {
  primitives = next;
}

export function cryptoPrimitives(): CryptoPrimitives {
  return primitives;
}

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
  const secretKey = primitives.x25519SecretKey();
  return { secretKey, publicKey: primitives.x25519PublicKey(secretKey) };
}

/** The X25519 key pair for a stored 32-byte secret (e.g. an egress key loaded from disk). */
export function keyPairFromSecret(secret: Uint8Array): KeyPair {
  assertKey('secret', secret, DHLEN);
  const secretKey = secret.slice();
  return { secretKey, publicKey: primitives.x25519PublicKey(secretKey) };
}

/**
 * X25519. A low-order public key would yield an all-zero secret that an attacker can predict:
 * noble refuses it, and an all-zero result is refused here whatever the primitives did; that is
 * the peer's fault, so it is a key error, never a crash.
 */
export function dh(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  assertKey('secretKey', secretKey, DHLEN);
  assertKey('publicKey', publicKey, DHLEN);
  let shared: Uint8Array;
  try {
    shared = primitives.x25519(secretKey, publicKey);
  } catch {
    throw new NoiseError('ERR_NOISE_KEY', 'DH failed: the public key has low order');
  }
  if (shared.every((byte) => byte === 0)) {
    throw new NoiseError('ERR_NOISE_KEY', 'DH failed: the public key has low order');
  }
  return shared;
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
  return primitives.seal(key, chachaPolyNonce(n), ad, plaintext);
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
    return primitives.open(key, chachaPolyNonce(n), ad, ciphertext);
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

function noiseHash(name: HashName, fn: typeof blake2s): NoiseHash {
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

/** SHA-256 through the installed primitives (the tunnel's hash). */
export const SHA256: NoiseHash = Object.freeze({
  name: 'SHA256',
  hash: (...parts: readonly Uint8Array[]) => primitives.sha256(parts),
  hmac: (key: Uint8Array, ...parts: readonly Uint8Array[]) => primitives.hmacSha256(key, parts),
});
/** BLAKE2s, always @noble's (only the test vectors use it). */
export const BLAKE2S: NoiseHash = noiseHash('BLAKE2s', blake2s);
