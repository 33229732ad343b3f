/**
 * The egress key file: the egress's static X25519 key pair for the tunnel's
 * Noise NK handshake. JSON, so operators can read it; keys in unpadded
 * base64url, as they appear in the egress list.
 *
 *   { "type": "bu-egress-key", "version": 1, "privateKey": "…", "publicKey": "…" }
 */
import { base64urlToBytes, bytesToBase64url, constantTimeEqual } from './bytes.ts';
import { SchemaError } from './errors.ts';
import { generateKeyPair, keyPairFromSecret, type KeyPair } from './noise/crypto-suite.ts';

const TYPE = 'bu-egress-key';
const VERSION = 1;
const KEY = /^[A-Za-z0-9_-]{43}$/;

export function createEgressKey(): KeyPair {
  return generateKeyPair();
}

export function encodeEgressKeyFile(key: KeyPair): string {
  return (
    JSON.stringify(
      {
        type: TYPE,
        version: VERSION,
        privateKey: bytesToBase64url(key.secretKey),
        publicKey: bytesToBase64url(key.publicKey),
      },
      null,
      2,
    ) + '\n'
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function keyField(record: Record<string, unknown>, name: string): Uint8Array {
  const value = record[name];
  if (typeof value !== 'string' || !KEY.test(value)) {
    throw new SchemaError(
      'ERR_SCHEMA_INVALID',
      `${name} must be 32 bytes in unpadded base64url (43 characters)`,
      name,
    );
  }
  return base64urlToBytes(value);
}

/** Parses a key file, checking that the public key belongs to the private key. */
export function parseEgressKeyFile(text: string): KeyPair {
  if (text.length > 4096) throw new SchemaError('ERR_SCHEMA_TOO_LARGE', 'key file is over 4 KiB');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new SchemaError('ERR_SCHEMA_JSON', 'key file is not JSON');
  }
  if (!isRecord(value)) {
    throw new SchemaError('ERR_SCHEMA_INVALID', 'key file must hold a JSON object');
  }
  const record = value;
  if (record['type'] !== TYPE || record['version'] !== VERSION) {
    throw new SchemaError(
      'ERR_SCHEMA_INVALID',
      `not a version ${VERSION} ${TYPE} file (type and version fields)`,
      'type',
    );
  }
  const key = keyPairFromSecret(keyField(record, 'privateKey'));
  if (!constantTimeEqual(key.publicKey, keyField(record, 'publicKey'))) {
    throw new SchemaError(
      'ERR_SCHEMA_INVALID',
      'publicKey does not belong to privateKey',
      'publicKey',
    );
  }
  return key;
}
