/**
 * Every error the wire layer can raise. Each class sets `name` and a stable
 * `code`; callers branch on `code`, never on the message text. The codes a
 * user can see are listed in README.md and docs/protocol.md.
 */

import type { AdmissionRefusal } from './admission.ts';

export type WispErrorCode =
  | 'ERR_WISP_TRUNCATED'
  | 'ERR_WISP_UNKNOWN_TYPE'
  | 'ERR_WISP_TRAILING_BYTES'
  | 'ERR_WISP_STREAM_ID'
  | 'ERR_WISP_STREAM_TYPE'
  | 'ERR_WISP_PORT'
  | 'ERR_WISP_HOSTNAME'
  | 'ERR_WISP_TOO_LARGE'
  | 'ERR_WISP_INFO';

export type NoiseErrorCode =
  | 'ERR_NOISE_PROTOCOL_NAME'
  | 'ERR_NOISE_STATE'
  | 'ERR_NOISE_KEY'
  | 'ERR_NOISE_MESSAGE_LENGTH'
  | 'ERR_NOISE_DECRYPT'
  | 'ERR_NOISE_NONCE_EXHAUSTED';

export type TunnelErrorCode =
  | 'ERR_TUNNEL_HELLO'
  | 'ERR_TUNNEL_REFUSAL'
  | 'ERR_TUNNEL_VERSION'
  | 'ERR_TUNNEL_MESSAGE_KIND'
  | 'ERR_TUNNEL_TRUNCATED'
  | 'ERR_TUNNEL_TOO_LARGE'
  | 'ERR_TUNNEL_REPLAY'
  | 'ERR_TUNNEL_OUT_OF_ORDER'
  | 'ERR_TUNNEL_TAMPERED'
  | 'ERR_TUNNEL_ACK'
  | 'ERR_TUNNEL_SEQUENCE_EXHAUSTED'
  | 'ERR_TUNNEL_STATE';

export type FetchHeadErrorCode =
  | 'ERR_FETCH_HEAD_TRUNCATED'
  | 'ERR_FETCH_HEAD_TOO_LARGE'
  | 'ERR_FETCH_HEAD_TOO_MANY_HEADERS'
  | 'ERR_FETCH_HEAD_INVALID';

export type WebSocketFrameErrorCode =
  | 'ERR_WS_FRAME_OPCODE'
  | 'ERR_WS_FRAME_TOO_LARGE'
  | 'ERR_WS_FRAME_CLOSE'
  | 'ERR_WS_FRAME_UTF8'
  | 'ERR_WS_FRAME_AFTER_CLOSE'
  | 'ERR_WS_FRAME_TRUNCATED';

export type AdmissionErrorCode =
  | 'ERR_ADMISSION_MISSING'
  | 'ERR_ADMISSION_MALFORMED'
  | 'ERR_ADMISSION_UNKNOWN_KEY'
  | 'ERR_ADMISSION_FORGED'
  | 'ERR_ADMISSION_WRONG_EGRESS'
  | 'ERR_ADMISSION_EXPIRED'
  | 'ERR_ADMISSION_EXHAUSTED'
  | 'ERR_ADMISSION_UNKNOWN_CLASS';

export type SchemaErrorCode = 'ERR_SCHEMA_JSON' | 'ERR_SCHEMA_TOO_LARGE' | 'ERR_SCHEMA_INVALID';

export type ProtocolErrorCode =
  | WispErrorCode
  | NoiseErrorCode
  | TunnelErrorCode
  | FetchHeadErrorCode
  | WebSocketFrameErrorCode
  | AdmissionErrorCode
  | SchemaErrorCode;

/**
 * The base of every coded error in the project, in every part (here because protocol/ is the
 * one part all others may import): a stable `code` to branch on, and a `name` each subclass
 * sets. Extra fields (a close reason, an HTTP status) belong to the subclass.
 */
export class CodedError<Code extends string = string> extends Error {
  override name = 'CodedError';
  readonly code: Code;
  constructor(code: Code, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/**
 * Base class of every error raised by protocol/. Each subclass narrows `Code` to its own family,
 * so its constructor accepts only that family's codes.
 */
export class ProtocolError<
  Code extends ProtocolErrorCode = ProtocolErrorCode,
> extends CodedError<Code> {
  override name = 'ProtocolError';
}

/** A Wisp packet could not be encoded or decoded. */
export class WispError extends ProtocolError<WispErrorCode> {
  override name = 'WispError';
}

/** The Noise handshake or a Noise cipher state failed. */
export class NoiseError extends ProtocolError<NoiseErrorCode> {
  override name = 'NoiseError';
}

/** A tunnel message (HELLO, REFUSED, handshake or sealed frame) was rejected. */
export class TunnelError extends ProtocolError<TunnelErrorCode> {
  override name = 'TunnelError';
}

/** An HTTP request or response head of a fetch stream was rejected. */
export class FetchHeadError extends ProtocolError<FetchHeadErrorCode> {
  override name = 'FetchHeadError';
}

/** A message frame of a websocket stream was rejected. */
export class WebSocketFrameError extends ProtocolError<WebSocketFrameErrorCode> {
  override name = 'WebSocketFrameError';
}

/**
 * An egress refused a tunnel's admission, or an admission token or handshake payload did not
 * parse. `reason` is the refusal's name on the wire (protocol/admission.ts).
 */
export class AdmissionError extends ProtocolError<AdmissionErrorCode> {
  override name = 'AdmissionError';
  readonly reason: AdmissionRefusal;
  constructor(code: AdmissionErrorCode, message: string, reason: AdmissionRefusal) {
    super(code, message);
    this.reason = reason;
  }
}

/**
 * A JSON message (PeerJS signaling or matchmaking) did not match its schema.
 * `path` names the offending field, e.g. `payload.sdp`.
 */
export class SchemaError extends ProtocolError<SchemaErrorCode> {
  override name = 'SchemaError';
  readonly path: string;
  constructor(code: SchemaErrorCode, message: string, path = '') {
    super(code, message);
    this.path = path;
  }
}

/** True when `err` is one of our typed protocol errors (used by fuzz tests and servers). */
export function isProtocolError(err: unknown): err is ProtocolError {
  return err instanceof ProtocolError;
}
