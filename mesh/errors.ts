/**
 * Errors of the peer runtime. Each has a stable `code`; stream errors carry
 * the Wisp close reason the egress (or this side) gave.
 */
import { CodedError, type AdmissionErrorCode } from '../protocol/errors.ts';
import type { TunnelRefusalReason } from '../protocol/tunnel-refused.ts';
import { closeReasonName, type WispCloseReasonName } from '../protocol/wisp-types.ts';

export type MeshErrorCode =
  | 'ERR_TUNNEL_CLOSED'
  | 'ERR_TUNNEL_HANDSHAKE'
  | 'ERR_TUNNEL_TIMEOUT'
  | 'ERR_TUNNEL_REFUSED'
  | 'ERR_STREAM_CLOSED'
  | 'ERR_STREAM_LIMIT'
  | 'ERR_FETCH_RESPONSE'
  | 'ERR_SIGNALING'
  | 'ERR_PEERJS'
  | 'ERR_NO_VOLUNTEERS'
  | 'ERR_UNKNOWN_EGRESS'
  | 'ERR_CENSORED_LOCATION'
  /** The egress refused the tunnel's admission token (protocol/admission.ts). */
  | AdmissionErrorCode;

export class MeshError extends CodedError<MeshErrorCode> {
  override name = 'MeshError';
}

/** A stream ended by a CLOSE other than a voluntary one, or by its tunnel going away. */
export class StreamClosedError extends MeshError {
  override name = 'StreamClosedError';
  /** The Wisp close reason (0x01 when the tunnel itself went away). */
  readonly reason: number;
  readonly reasonName: WispCloseReasonName;
  constructor(reason: number, message: string) {
    super('ERR_STREAM_CLOSED', message);
    this.reason = reason;
    this.reasonName = closeReasonName(reason);
  }
}

/**
 * A volunteer refused the tunnel with REFUSED before the egress answered (docs/protocol.md
 * §1.7); `reason` says why. The consumer tries another volunteer.
 */
export class TunnelRefusedError extends MeshError {
  override name = 'TunnelRefusedError';
  readonly reason: TunnelRefusalReason;
  constructor(reason: TunnelRefusalReason) {
    super('ERR_TUNNEL_REFUSED', `the volunteer refused the tunnel: ${reason}`);
    this.reason = reason;
  }
}
