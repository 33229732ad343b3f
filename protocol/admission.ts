/**
 * Admission to an egress's `/tunnel/` (docs/protocol.md §1.8): a short-lived token the
 * signaling server signs with each match, which the consumer carries inside the Noise handshake
 * (message 1's payload, encrypted to the egress's static key, so a volunteer cannot read or
 * lift it) and the egress verifies offline. The egress answers in message 2's payload: empty
 * when admitted, a refusal reason otherwise (authenticated by the handshake, so a volunteer
 * cannot forge one either).
 *
 * Token, 126 + n bytes:
 *
 *   u8 version (1) ‖ key id (8) ‖ token id (16) ‖ egress static key (32) ‖ u32 LE expiry
 *   (Unix seconds) ‖ u8 n ‖ quota class (n ASCII bytes) ‖ Ed25519 signature (64) over
 *   ADMISSION_CONTEXT ‖ everything before the signature
 *
 * Handshake payloads are lists of items: u8 type ‖ u16 LE length ‖ value. Unknown types are
 * skipped, so a later version can add items; a known type twice is malformed.
 *
 * Nothing here signs or verifies: the signature is Ed25519, which the signaling server and the
 * egress compute with their platform's crypto (server-kit/admission-keys.ts); a consumer only
 * carries the token.
 */
import { utf8Encode, viewOf } from './bytes.ts';
import { AdmissionError, type AdmissionErrorCode } from './errors.ts';

export const ADMISSION_TOKEN_VERSION = 1;
/** Signed before the token's bytes, so a signature over anything else never verifies. */
export const ADMISSION_CONTEXT = utf8Encode('browsers-unbounded admission v1\0');
export const ADMISSION_KEY_ID_BYTES = 8;
export const ADMISSION_TOKEN_ID_BYTES = 16;
export const ADMISSION_SIGNATURE_BYTES = 64;
export const MAX_QUOTA_CLASS_LENGTH = 32;
const QUOTA_CLASS = /^[a-z0-9-]{1,32}$/;
const HEADER_BYTES = 1 + ADMISSION_KEY_ID_BYTES + ADMISSION_TOKEN_ID_BYTES + 32 + 4 + 1;
export const MAX_ADMISSION_TOKEN_BYTES =
  HEADER_BYTES + MAX_QUOTA_CLASS_LENGTH + ADMISSION_SIGNATURE_BYTES;

/** Item types of a handshake payload. */
export const HANDSHAKE_ITEMS = {
  /** Consumer → egress, in message 1: an admission token. */
  'admission-token': 0x01,
  /** Egress → consumer, in message 2: one byte, why the egress will not carry this tunnel. */
  'admission-refusal': 0x02,
} as const;

/**
 * Why an egress refused a tunnel: a closed set, one byte in message 2's payload. Each has its
 * own error code on the consumer's side (`ERR_ADMISSION_<NAME>`).
 */
export const ADMISSION_REFUSALS = {
  /** No token in the handshake. */
  missing: 0x01,
  /** A token that does not parse (wrong length, version or class). */
  malformed: 0x02,
  /** Signed with a key the egress does not trust (or no longer trusts). */
  'unknown-key': 0x03,
  /** The signature does not verify. */
  forged: 0x04,
  /** Issued for another egress. */
  'wrong-egress': 0x05,
  expired: 0x06,
  /** The token's byte quota is used up, or the egress tracks too many tokens to take one more. */
  exhausted: 0x07,
  /** A quota class this egress does not define. */
  'unknown-class': 0x08,
} as const;

export type AdmissionRefusal = keyof typeof ADMISSION_REFUSALS;

export const ADMISSION_REFUSAL_NAMES = Object.keys(
  ADMISSION_REFUSALS,
) as readonly AdmissionRefusal[];

const REFUSAL_CODES: Record<AdmissionRefusal, AdmissionErrorCode> = {
  missing: 'ERR_ADMISSION_MISSING',
  malformed: 'ERR_ADMISSION_MALFORMED',
  'unknown-key': 'ERR_ADMISSION_UNKNOWN_KEY',
  forged: 'ERR_ADMISSION_FORGED',
  'wrong-egress': 'ERR_ADMISSION_WRONG_EGRESS',
  expired: 'ERR_ADMISSION_EXPIRED',
  exhausted: 'ERR_ADMISSION_EXHAUSTED',
  'unknown-class': 'ERR_ADMISSION_UNKNOWN_CLASS',
};

/** The consumer's error for a refusal. */
export function admissionRefusalError(reason: AdmissionRefusal): AdmissionError {
  return new AdmissionError(
    REFUSAL_CODES[reason],
    `the egress refused admission: ${reason}`,
    reason,
  );
}

export interface AdmissionClaims {
  readonly keyId: Uint8Array;
  readonly tokenId: Uint8Array;
  /** The X25519 static key of the egress the token admits to. */
  readonly egress: Uint8Array;
  /** Unix seconds. */
  readonly expires: number;
  readonly quotaClass: string;
}

export interface AdmissionToken extends AdmissionClaims {
  /** What the signature covers: ADMISSION_CONTEXT ‖ the token up to the signature. */
  readonly signed: Uint8Array;
  readonly signature: Uint8Array;
}

export function isQuotaClass(name: string): boolean {
  return QUOTA_CLASS.test(name);
}

function exact(bytes: Uint8Array, length: number, name: string): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw new RangeError(`${name}: expected ${length} bytes`);
  }
}

/** The bytes of a token before its signature (what `signedBytes` prefixes and signs). */
export function encodeAdmissionClaims(claims: AdmissionClaims): Uint8Array<ArrayBuffer> {
  exact(claims.keyId, ADMISSION_KEY_ID_BYTES, 'keyId');
  exact(claims.tokenId, ADMISSION_TOKEN_ID_BYTES, 'tokenId');
  exact(claims.egress, 32, 'egress');
  if (!Number.isInteger(claims.expires) || claims.expires < 0 || claims.expires > 0xffff_ffff) {
    throw new RangeError(`expires: expected Unix seconds as a u32, got ${claims.expires}`);
  }
  if (typeof claims.quotaClass !== 'string' || !isQuotaClass(claims.quotaClass)) {
    throw new RangeError(
      `quotaClass: expected 1–32 of a-z 0-9 -, got ${String(claims.quotaClass)}`,
    );
  }
  const out = new Uint8Array(HEADER_BYTES + claims.quotaClass.length);
  let at = 0;
  out[at++] = ADMISSION_TOKEN_VERSION;
  out.set(claims.keyId, at);
  at += ADMISSION_KEY_ID_BYTES;
  out.set(claims.tokenId, at);
  at += ADMISSION_TOKEN_ID_BYTES;
  out.set(claims.egress, at);
  at += 32;
  viewOf(out).setUint32(at, claims.expires, true);
  at += 4;
  out[at++] = claims.quotaClass.length;
  out.set(utf8Encode(claims.quotaClass), at);
  return out;
}

/** What a signature covers for these claim bytes. */
export function signedBytes(claims: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(ADMISSION_CONTEXT.length + claims.length);
  out.set(ADMISSION_CONTEXT);
  out.set(claims, ADMISSION_CONTEXT.length);
  return out;
}

/** A whole token: the claims and their signature. */
export function encodeAdmissionToken(
  claims: Uint8Array,
  signature: Uint8Array,
): Uint8Array<ArrayBuffer> {
  exact(signature, ADMISSION_SIGNATURE_BYTES, 'signature');
  const out = new Uint8Array(claims.length + signature.length);
  out.set(claims);
  out.set(signature, claims.length);
  return out;
}

/** Parses a token's layout (not its signature); `ERR_ADMISSION_MALFORMED` when it is off. */
export function decodeAdmissionToken(token: Uint8Array): AdmissionToken {
  const malformed = (why: string): AdmissionError =>
    new AdmissionError('ERR_ADMISSION_MALFORMED', `admission token: ${why}`, 'malformed');
  if (token.length < HEADER_BYTES + 1 + ADMISSION_SIGNATURE_BYTES) throw malformed('too short');
  if (token[0] !== ADMISSION_TOKEN_VERSION) throw malformed(`version ${token[0]}`);
  let at = 1;
  const keyId = token.slice(at, (at += ADMISSION_KEY_ID_BYTES));
  const tokenId = token.slice(at, (at += ADMISSION_TOKEN_ID_BYTES));
  const egress = token.slice(at, (at += 32));
  const expires = viewOf(token).getUint32(at, true);
  at += 4;
  const n = token[at++] ?? 0;
  if (token.length !== HEADER_BYTES + n + ADMISSION_SIGNATURE_BYTES) {
    throw malformed(`${token.length} bytes for a ${n}-byte quota class`);
  }
  let quotaClass = '';
  for (const byte of token.subarray(at, at + n)) quotaClass += String.fromCharCode(byte);
  if (!isQuotaClass(quotaClass)) throw malformed('the quota class is not 1–32 of a-z 0-9 -');
  at += n;
  return {
    keyId,
    tokenId,
    egress,
    expires,
    quotaClass,
    signed: signedBytes(token.subarray(0, at)),
    signature: token.slice(at),
  };
}

// ---- handshake payloads -------------------------------------------------------------------

export type HandshakeItemType = keyof typeof HANDSHAKE_ITEMS;

/** Encodes items in order; values up to 65,535 bytes each. */
export function encodeHandshakeItems(
  items: ReadonlyArray<readonly [HandshakeItemType, Uint8Array]>,
): Uint8Array<ArrayBuffer> {
  let length = 0;
  for (const [, value] of items) {
    if (value.length > 0xffff) throw new RangeError('a handshake item is over 65,535 bytes');
    length += 3 + value.length;
  }
  const out = new Uint8Array(length);
  let at = 0;
  for (const [type, value] of items) {
    out[at] = HANDSHAKE_ITEMS[type];
    viewOf(out).setUint16(at + 1, value.length, true);
    out.set(value, at + 3);
    at += 3 + value.length;
  }
  return out;
}

/**
 * The known items of a handshake payload, by type. Unknown types are skipped; a truncated list
 * or a known type twice throws `ERR_ADMISSION_MALFORMED`.
 */
export function decodeHandshakeItems(payload: Uint8Array): Map<HandshakeItemType, Uint8Array> {
  const items = new Map<HandshakeItemType, Uint8Array>();
  const names = Object.keys(HANDSHAKE_ITEMS) as HandshakeItemType[];
  let at = 0;
  while (at < payload.length) {
    if (payload.length - at < 3) {
      throw new AdmissionError(
        'ERR_ADMISSION_MALFORMED',
        'handshake payload: truncated item',
        'malformed',
      );
    }
    const type = payload[at] ?? 0;
    const length = viewOf(payload).getUint16(at + 1, true);
    const end = at + 3 + length;
    if (end > payload.length) {
      throw new AdmissionError(
        'ERR_ADMISSION_MALFORMED',
        'handshake payload: item past the end',
        'malformed',
      );
    }
    const name = names.find((known) => HANDSHAKE_ITEMS[known] === type);
    if (name !== undefined) {
      if (items.has(name)) {
        throw new AdmissionError(
          'ERR_ADMISSION_MALFORMED',
          `handshake payload: ${name} twice`,
          'malformed',
        );
      }
      items.set(name, payload.slice(at + 3, end));
    }
    at = end;
  }
  return items;
}

/** Message 2's payload for a refusal. */
export function encodeRefusalPayload(reason: AdmissionRefusal): Uint8Array<ArrayBuffer> {
  return encodeHandshakeItems([['admission-refusal', Uint8Array.of(ADMISSION_REFUSALS[reason])]]);
}

/**
 * Reads message 2's payload on the consumer's side: nothing when admitted, the refusal's error
 * otherwise (an unknown reason byte still refuses, as `malformed`).
 */
export function refusalIn(payload: Uint8Array): AdmissionError | undefined {
  const value = decodeHandshakeItems(payload).get('admission-refusal');
  if (value === undefined) return undefined;
  const byte = value[0];
  const reason = ADMISSION_REFUSAL_NAMES.find((name) => ADMISSION_REFUSALS[name] === byte);
  return admissionRefusalError(reason ?? 'malformed');
}
