/**
 * The Noise primitives from `node:crypto` (OpenSSL): ChaCha20-Poly1305 about 20 times faster
 * than the JavaScript one, X25519, SHA-256 and HMAC. Node ends (the egress, `bu proxy`,
 * `bu volunteer`, `bu serve`) install them at start; browsers keep @noble. `BU_CRYPTO=noble`
 * forces the JavaScript primitives (tests and benches compare the two).
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { base64urlToBytes, bytesToBase64url } from '../protocol/bytes.ts';
import {
  NOBLE_PRIMITIVES,
  TAGLEN,
  useCryptoPrimitives,
  type CryptoPrimitives,
} from '../protocol/noise/crypto-suite.ts';

/** The private KeyObject of a raw 32-byte X25519 secret (OpenSSL clamps it, RFC 7748). */
function privateKey(secret: Uint8Array): KeyObject {
  return createPrivateKey({
    key: Buffer.concat([X25519_PKCS8_PREFIX, secret]),
    format: 'der',
    type: 'pkcs8',
  });
}

function publicOf(secret: Uint8Array): string {
  const jwk = createPublicKey(privateKey(secret)).export({ format: 'jwk' });
  if (typeof jwk.x !== 'string') throw new Error('X25519: no public key');
  return jwk.x;
}

/** PKCS #8 DER of an X25519 private key, before its 32 bytes (RFC 8410). */
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

function bytes(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

export const NATIVE_PRIMITIVES: CryptoPrimitives = Object.freeze({
  name: 'native',
  x25519SecretKey(): Uint8Array {
    const jwk = generateKeyPairSync('x25519').privateKey.export({ format: 'jwk' });
    if (typeof jwk.d !== 'string') throw new Error('X25519: no private key');
    return base64urlToBytes(jwk.d);
  },
  x25519PublicKey: (secretKey: Uint8Array) => base64urlToBytes(publicOf(secretKey)),
  x25519(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
    const peer = createPublicKey({
      key: { kty: 'OKP', crv: 'X25519', x: bytesToBase64url(publicKey) },
      format: 'jwk',
    });
    return bytes(diffieHellman({ privateKey: privateKey(secretKey), publicKey: peer }));
  },
  seal(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAGLEN });
    cipher.setAAD(ad, { plaintextLength: plaintext.length });
    const head = cipher.update(plaintext);
    const tail = cipher.final();
    const out = new Uint8Array(head.length + tail.length + TAGLEN);
    out.set(head);
    out.set(tail, head.length);
    out.set(cipher.getAuthTag(), head.length + tail.length);
    return out;
  },
  open(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    const body = ciphertext.subarray(0, ciphertext.length - TAGLEN);
    const decipher = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAGLEN });
    decipher.setAuthTag(ciphertext.subarray(ciphertext.length - TAGLEN));
    decipher.setAAD(ad, { plaintextLength: body.length });
    const head = decipher.update(body);
    const tail = decipher.final();
    if (tail.length === 0) return bytes(head);
    return bytes(Buffer.concat([head, tail]));
  },
  sha256(parts: readonly Uint8Array[]): Uint8Array {
    const hash = createHash('sha256');
    for (const part of parts) hash.update(part);
    return bytes(hash.digest());
  },
  hmacSha256(key: Uint8Array, parts: readonly Uint8Array[]): Uint8Array {
    const mac = createHmac('sha256', key);
    for (const part of parts) mac.update(part);
    return bytes(mac.digest());
  },
});

/**
 * Installs the primitives `BU_CRYPTO` names: `native` (the default on Node) or `noble`.
 * Returns the name installed; anything else in the variable is an error.
 */
export function installCryptoPrimitives(choice = process.env['BU_CRYPTO']): string {
  const chosen =
    choice === undefined || choice === '' || choice === 'native'
      ? NATIVE_PRIMITIVES
      : choice === 'noble'
        ? NOBLE_PRIMITIVES
        : undefined;
  if (chosen === undefined) {
    throw new Error(`BU_CRYPTO: expected "native" or "noble", got ${JSON.stringify(choice)}`);
  }
  useCryptoPrimitives(chosen);
  return chosen.name;
}
