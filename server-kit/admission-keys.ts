/**
 * The admission key (docs/protocol.md §1.8): an Ed25519 key pair with which the signaling
 * server signs admission tokens; egresses hold only public keys (at most two, so a key can be
 * rotated without a gap). Ed25519 from `node:crypto`: only servers sign or verify.
 *
 * Key file (JSON, keys in unpadded base64url):
 *
 *   { "type": "bu-admission-key", "version": 1, "privateKey": "…", "publicKey": "…" }
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import {
  ADMISSION_KEY_ID_BYTES,
  encodeAdmissionClaims,
  encodeAdmissionToken,
  signedBytes,
  type AdmissionClaims,
  type AdmissionToken,
} from '../protocol/admission.ts';
import { base64urlToBytes, bytesToBase64url, constantTimeEqual } from '../protocol/bytes.ts';
import { SchemaError } from '../protocol/errors.ts';

const TYPE = 'bu-admission-key';
const VERSION = 1;
const KEY = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;

export interface AdmissionSigningKey {
  readonly privateKey: KeyObject;
  /** Raw Ed25519 public key, 32 bytes. */
  readonly publicKey: Uint8Array;
  /** The first 8 bytes of SHA-256 of the public key: how a token names its key. */
  readonly keyId: Uint8Array;
}

/** True for 32 bytes in unpadded base64url (43 characters, the last one carrying 4 bits). */
export function isAdmissionPublicKey(text: string): boolean {
  return KEY.test(text);
}

export function admissionKeyId(publicKey: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(publicKey).digest()).slice(
    0,
    ADMISSION_KEY_ID_BYTES,
  );
}

function rawPublic(key: KeyObject): Uint8Array {
  const jwk = key.export({ format: 'jwk' });
  if (typeof jwk.x !== 'string') throw new Error('not an Ed25519 key');
  return base64urlToBytes(jwk.x);
}

function signingKey(privateKey: KeyObject): AdmissionSigningKey {
  const publicKey = rawPublic(createPublicKey(privateKey));
  return { privateKey, publicKey, keyId: admissionKeyId(publicKey) };
}

export function createAdmissionKey(): AdmissionSigningKey {
  return signingKey(generateKeyPairSync('ed25519').privateKey);
}

export function encodeAdmissionKeyFile(key: AdmissionSigningKey): string {
  const jwk = key.privateKey.export({ format: 'jwk' });
  return `${JSON.stringify(
    { type: TYPE, version: VERSION, privateKey: jwk.d, publicKey: bytesToBase64url(key.publicKey) },
    null,
    2,
  )}\n`;
}

/** Parses a key file; `SchemaError` naming the field that is wrong. */
export function parseAdmissionKeyFile(text: string): AdmissionSigningKey {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new SchemaError('ERR_SCHEMA_JSON', 'not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SchemaError('ERR_SCHEMA_INVALID', 'expected a JSON object');
  }
  const record = value as Record<string, unknown>;
  if (record['type'] !== TYPE) {
    throw new SchemaError('ERR_SCHEMA_INVALID', `type must be "${TYPE}"`, 'type');
  }
  if (record['version'] !== VERSION) {
    throw new SchemaError('ERR_SCHEMA_INVALID', `version must be ${VERSION}`, 'version');
  }
  const field = (name: string): string => {
    const text = record[name];
    if (typeof text !== 'string' || !KEY.test(text)) {
      throw new SchemaError(
        'ERR_SCHEMA_INVALID',
        `${name} must be 32 bytes in unpadded base64url (43 characters)`,
        name,
      );
    }
    return text;
  };
  const d = field('privateKey');
  const x = field('publicKey');
  const key = signingKey(
    createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d, x }, format: 'jwk' }),
  );
  // A JWK's `x` is not checked against `d`: compare the public key the private key makes.
  if (!constantTimeEqual(key.publicKey, base64urlToBytes(x))) {
    throw new SchemaError('ERR_SCHEMA_INVALID', 'publicKey does not match privateKey', 'publicKey');
  }
  return key;
}

/** A signed token for `claims` (whose `keyId` is the key's own). */
export function signAdmission(
  key: AdmissionSigningKey,
  claims: Omit<AdmissionClaims, 'keyId'>,
): Uint8Array {
  const bytes = encodeAdmissionClaims({ ...claims, keyId: key.keyId });
  return encodeAdmissionToken(
    bytes,
    new Uint8Array(sign(null, signedBytes(bytes), key.privateKey)),
  );
}

/** The public keys an egress trusts, found by key id. */
export class AdmissionKeyring {
  readonly #keys: Array<{ readonly id: Uint8Array; readonly key: KeyObject }>;

  /** `publicKeys`: raw 32-byte Ed25519 keys (one, or two during a rotation). */
  constructor(publicKeys: readonly Uint8Array[]) {
    this.#keys = publicKeys.map((raw) => ({
      id: admissionKeyId(raw),
      key: createPublicKey({
        key: { kty: 'OKP', crv: 'Ed25519', x: bytesToBase64url(raw) },
        format: 'jwk',
      }),
    }));
  }

  /** Whether a key with the token's key id is trusted. */
  knows(token: AdmissionToken): boolean {
    return this.#keys.some(({ id }) => constantTimeEqual(id, token.keyId));
  }

  /** Whether the token's signature verifies under its named key. */
  verifies(token: AdmissionToken): boolean {
    const entry = this.#keys.find(({ id }) => constantTimeEqual(id, token.keyId));
    return entry !== undefined && verify(null, token.signed, entry.key, token.signature);
  }
}
