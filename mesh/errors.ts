/**
 * Errors of the peer runtime. Each has a stable `code`; stream errors carry
 * the Wisp close reason the egress (or this side) gave.
 */
import { closeReasonName, type WispCloseReasonName } from '../protocol/wisp-types.ts';

export type MeshErrorCode =
  | 'ERR_TUNNEL_CLOSED'
  | 'ERR_TUNNEL_HANDSHAKE'
  | 'ERR_TUNNEL_TIMEOUT'
  | 'ERR_STREAM_CLOSED'
  | 'ERR_STREAM_LIMIT'
  | 'ERR_FETCH_RESPONSE'
  | 'ERR_SIGNALING'
  | 'ERR_NO_VOLUNTEERS'
  | 'ERR_UNKNOWN_EGRESS'
  | 'ERR_CENSORED_LOCATION';

export class MeshError extends Error {
  override name = 'MeshError';
  readonly code: MeshErrorCode;
  constructor(code: MeshErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
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
