/**
 * Errors of the egress. Each has a stable `code`; stream failures also carry the Wisp close
 * reason that the client sees, so the mapping from "what went wrong" to the wire lives here once.
 */
import { CodedError } from '../protocol/errors.ts';
import type { WispCloseReasonName } from '../protocol/wisp-types.ts';

export type StreamFailureCode =
  | 'ERR_EGRESS_BLOCKED'
  | 'ERR_EGRESS_INVALID'
  | 'ERR_EGRESS_UNREACHABLE'
  | 'ERR_EGRESS_TIMEOUT'
  | 'ERR_EGRESS_REFUSED'
  | 'ERR_EGRESS_NETWORK'
  | 'ERR_EGRESS_THROTTLED'
  | 'ERR_EGRESS_IDLE';

const REASON_BY_CODE: Readonly<Record<StreamFailureCode, WispCloseReasonName>> = {
  ERR_EGRESS_BLOCKED: 'blocked',
  ERR_EGRESS_INVALID: 'invalid',
  ERR_EGRESS_UNREACHABLE: 'unreachable',
  ERR_EGRESS_TIMEOUT: 'timeout',
  ERR_EGRESS_REFUSED: 'refused',
  ERR_EGRESS_NETWORK: 'network-error',
  ERR_EGRESS_THROTTLED: 'throttled',
  ERR_EGRESS_IDLE: 'tcp-timeout',
};

/** Why a destination was refused by policy; also the `reason` label of the refusal metric. */
export type PolicyRefusal =
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'cgnat'
  | 'multicast'
  | 'broadcast'
  | 'unspecified'
  | 'unique-local'
  | 'documentation'
  | 'reserved'
  | 'odd-spelling'
  | 'port';

export const POLICY_REFUSALS: readonly PolicyRefusal[] = [
  'loopback',
  'private',
  'link-local',
  'cgnat',
  'multicast',
  'broadcast',
  'unspecified',
  'unique-local',
  'documentation',
  'reserved',
  'odd-spelling',
  'port',
];

/** A stream could not be opened or died; `reason` is the Wisp CLOSE reason to send. */
export class StreamFailure extends CodedError<StreamFailureCode> {
  override name = 'StreamFailure';
  readonly reason: WispCloseReasonName;
  /** Set for ERR_EGRESS_BLOCKED. */
  readonly refusal: PolicyRefusal | undefined;
  constructor(code: StreamFailureCode, message: string, refusal?: PolicyRefusal) {
    super(code, message);
    this.reason = REASON_BY_CODE[code];
    this.refusal = refusal;
  }
}

export type EgressConfigErrorCode = 'ERR_EGRESS_CONFIG';

/** Bad configuration: an option value or the allow list. (A bad key file is the CLI's ERR_EGRESS_KEY.) */
export class EgressConfigError extends CodedError<EgressConfigErrorCode> {
  override name = 'EgressConfigError';
}

const NODE_ERROR_CODES: Readonly<Record<string, StreamFailureCode>> = {
  ECONNREFUSED: 'ERR_EGRESS_REFUSED',
  ETIMEDOUT: 'ERR_EGRESS_TIMEOUT',
  EHOSTUNREACH: 'ERR_EGRESS_UNREACHABLE',
  ENETUNREACH: 'ERR_EGRESS_UNREACHABLE',
  EHOSTDOWN: 'ERR_EGRESS_UNREACHABLE',
  ENETDOWN: 'ERR_EGRESS_UNREACHABLE',
  EADDRNOTAVAIL: 'ERR_EGRESS_UNREACHABLE',
  ENOTFOUND: 'ERR_EGRESS_UNREACHABLE',
  EAI_AGAIN: 'ERR_EGRESS_UNREACHABLE',
  UND_ERR_CONNECT_TIMEOUT: 'ERR_EGRESS_TIMEOUT',
  UND_ERR_HEADERS_TIMEOUT: 'ERR_EGRESS_TIMEOUT',
  UND_ERR_BODY_TIMEOUT: 'ERR_EGRESS_IDLE',
  UND_ERR_INVALID_ARG: 'ERR_EGRESS_INVALID',
  UND_ERR_REQ_CONTENT_LENGTH_MISMATCH: 'ERR_EGRESS_INVALID',
};

/** Maps a socket or undici error to a stream failure; anything unknown is a network error. */
export function toStreamFailure(err: unknown): StreamFailure {
  if (err instanceof StreamFailure) return err;
  let code: unknown;
  if (typeof err === 'object' && err !== null && 'code' in err) code = err.code;
  const mapped = typeof code === 'string' ? NODE_ERROR_CODES[code] : undefined;
  const message = err instanceof Error ? err.message : String(err);
  return new StreamFailure(mapped ?? 'ERR_EGRESS_NETWORK', message);
}
