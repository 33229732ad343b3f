/**
 * Every error and refusal the signaling server produces, each with a stable code. Callers and
 * dashboards branch on codes and reasons, never on message text.
 */
import { CodedError } from '../protocol/errors.ts';
import type { MatchmakingErrorCode } from '../protocol/matchmaking.ts';

export type SignalingErrorCode =
  /** An option passed to the server (or a flag of `bu signaling`) is invalid. */
  | 'ERR_SIGNALING_CONFIG'
  /** A geoip file could not be read or has a malformed line. */
  | 'ERR_SIGNALING_GEOIP';

export class SignalingError extends CodedError<SignalingErrorCode> {
  override name = 'SignalingError';
}

/** An HTTP request refused with a matchmaking error body (`{"error": code}`). */
export class HttpError extends CodedError<MatchmakingErrorCode> {
  override name = 'HttpError';
  /** Counted in `bu_signaling_rejected_inputs_total` when the answer is sent, if set. */
  readonly reason: RejectReason | undefined;
  constructor(code: MatchmakingErrorCode, message: string, reason?: RejectReason) {
    super(code, message);
    this.reason = reason;
  }
}

/**
 * Why an input from a stranger was refused or ignored: the `reason` label of
 * `bu_signaling_rejected_inputs_total` and of log lines.
 */
export const REJECT_REASONS = [
  'bad-json',
  'unknown-type',
  'invalid-message',
  'binary-message',
  'too-large',
  'missing-parameter',
  'invalid-parameter',
  'bad-key',
  'id-taken',
  'concurrent-limit',
  'rate-limited',
  'origin',
  'queue-full',
  'send-failed',
  'bad-request',
  'unauthorized',
  'too-many-waiting',
  /** A request target that is not a valid path, or a request the HTTP parser refused. */
  'bad-target',
  'bad-http',
  /** Fair shares (docs/signaling.md, "Limits"). */
  'share-per-consumer',
  'share-per-address',
  'ids-per-address',
  'queue-share',
  'relay-rate',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** WebSocket close codes the server uses (RFC 6455 section 7.4.1). */
export const CLOSE_CODES = {
  /** A newer socket took the id over, the id timed out, or the peer left. */
  normal: 1000,
  /** The server is shutting down. */
  goingAway: 1001,
  /** A refusal (bad key, taken id, rate limit…), always after an ERROR or ID-TAKEN message. */
  policy: 1008,
  /** A message over the size limit. */
  tooLarge: 1009,
  /** A message could not be delivered to this socket. */
  sendFailed: 1011,
  /** The server failed while handling this socket (a bug, counted in faults_total). */
  internal: 1011,
} as const;

/**
 * `payload.msg` texts of the refusals the server sends before closing. The first three are
 * the stock PeerJS server's own texts, so existing clients that match on them keep working.
 */
export const REFUSAL_TEXT = {
  missingParameter: 'No id, token, or key supplied to websocket server',
  badKey: 'Invalid key provided',
  idTaken: 'ID is taken',
  concurrentLimit: 'Server has reached its concurrent user limit',
  badId: 'Invalid id: 1 to 64 letters and digits, in words joined by one space, _ or -',
  badToken: 'Invalid token: 1 to 128 printable ASCII characters without spaces',
  tooLarge: 'Message too large',
  rateLimited: 'Too many connections from your address; try again later',
  origin: 'Origin not allowed',
  idsPerAddress: 'Too many ids connected from your address; close one or try again later',
  relayRate: 'Too many messages; some were dropped, slow down',
  backlog: 'Too many messages at once while the server was busy; slow down',
  internal: 'Internal server error',
} as const;
