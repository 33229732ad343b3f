/**
 * Admission tokens (docs/protocol.md §1.8): with every match the signaling server signs one
 * token per listed egress, bound to that egress's static key, valid for a few minutes, with
 * the quota class the operator chose. Egresses verify them offline with the public key.
 */
import { randomBytes } from 'node:crypto';
import { ADMISSION_TOKEN_ID_BYTES, isQuotaClass } from '../protocol/admission.ts';
import { base64urlToBytes, bytesToBase64url } from '../protocol/bytes.ts';
import type { EgressInfo } from '../protocol/matchmaking.ts';
import { signAdmission, type AdmissionSigningKey } from '../server-kit/admission-keys.ts';

export interface AdmissionIssuing {
  /** The signing key; egresses trust its public key (`bu egress --admission-key`). */
  readonly key: AdmissionSigningKey;
  /** How long a token admits new tunnels (default 600 s; 10 s to 1 day). */
  readonly lifetimeSeconds?: number;
  /** The quota class written into every token (default `standard`). */
  readonly quotaClass?: string;
}

export const DEFAULT_ADMISSION_LIFETIME_SECONDS = 600;

/** Checks the options; a message naming what is wrong, or undefined. */
export function admissionProblem(issuing: AdmissionIssuing): string | undefined {
  const lifetime = issuing.lifetimeSeconds ?? DEFAULT_ADMISSION_LIFETIME_SECONDS;
  if (!Number.isInteger(lifetime) || lifetime < 10 || lifetime > 86_400) {
    return `lifetimeSeconds: expected 10 to 86400, got ${lifetime}`;
  }
  if (issuing.quotaClass !== undefined && !isQuotaClass(issuing.quotaClass)) {
    return `quotaClass: expected 1 to 32 of a-z 0-9 -, got ${JSON.stringify(issuing.quotaClass)}`;
  }
  return undefined;
}

/** The egress list of one match, each egress with a fresh token. */
export function withAdmission(
  egresses: readonly EgressInfo[],
  issuing: AdmissionIssuing,
  now = Date.now(),
): EgressInfo[] {
  const expires =
    Math.floor(now / 1000) + (issuing.lifetimeSeconds ?? DEFAULT_ADMISSION_LIFETIME_SECONDS);
  const quotaClass = issuing.quotaClass ?? 'standard';
  return egresses.map((egress) => {
    const token = signAdmission(issuing.key, {
      tokenId: new Uint8Array(randomBytes(ADMISSION_TOKEN_ID_BYTES)),
      egress: base64urlToBytes(egress.publicKey),
      expires,
      quotaClass,
    });
    return { ...egress, admission: bytesToBase64url(token) };
  });
}
