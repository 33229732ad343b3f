/**
 * REFUSED: the volunteer's one message of its own, in plaintext, volunteer → consumer. A
 * volunteer that will not carry a tunnel says why before it closes the data channel, so the
 * consumer can report a reason instead of "the tunnel closed". It is sent only before anything
 * from the egress has been relayed, and a consumer honours it only before the handshake
 * response: once the egress has answered, every message is a sealed frame.
 */
import { TunnelError } from './errors.ts';
import { expectTunnelMessage, TUNNEL_MESSAGE_KINDS } from './tunnel-message.ts';

/**
 * Why a volunteer refused a tunnel: a closed set, one byte on the wire.
 * - `too-many-tunnels`: this consumer already has as many tunnels through the volunteer as it
 *   allows (a consumer needs one per volunteer).
 * - `busy`: the volunteer cannot take this connection now (stopping, or too many connections
 *   waiting for the signaling server to name them).
 * - `bad-hello`: the first message was not a well-formed HELLO, or none came in time.
 * - `unknown-egress`: the HELLO names an egress the volunteer's list does not have.
 * - `egress-unreachable`: the volunteer could not open its WebSocket to the egress.
 */
export const TUNNEL_REFUSAL_REASONS = {
  'too-many-tunnels': 0x01,
  busy: 0x02,
  'bad-hello': 0x03,
  'unknown-egress': 0x04,
  'egress-unreachable': 0x05,
} as const;

export type TunnelRefusalReason = keyof typeof TUNNEL_REFUSAL_REASONS;

/** Every reason, in byte order. */
export const TUNNEL_REFUSAL_REASON_NAMES = Object.keys(
  TUNNEL_REFUSAL_REASONS,
) as readonly TunnelRefusalReason[];

/** A REFUSED message is exactly the kind byte and the reason byte. */
export const REFUSED_MESSAGE_BYTES = 2;

export function isTunnelRefusalReason(value: unknown): value is TunnelRefusalReason {
  return typeof value === 'string' && TUNNEL_REFUSAL_REASON_NAMES.some((name) => name === value);
}

export function encodeRefused(reason: TunnelRefusalReason): Uint8Array<ArrayBuffer> {
  if (typeof reason !== 'string') {
    throw new TypeError(`reason: expected a string, got ${typeof reason}`);
  }
  if (!isTunnelRefusalReason(reason)) {
    throw new RangeError(`reason: not a tunnel refusal reason: ${JSON.stringify(reason)}`);
  }
  return Uint8Array.of(TUNNEL_MESSAGE_KINDS.refused, TUNNEL_REFUSAL_REASONS[reason]);
}

export function decodeRefused(message: Uint8Array): { readonly reason: TunnelRefusalReason } {
  expectTunnelMessage(message, 'refused');
  const byte = message[1];
  if (byte === undefined) {
    throw new TunnelError('ERR_TUNNEL_TRUNCATED', 'REFUSED is shorter than its 2 bytes');
  }
  if (message.length !== REFUSED_MESSAGE_BYTES) {
    throw new TunnelError(
      'ERR_TUNNEL_REFUSAL',
      `REFUSED is ${REFUSED_MESSAGE_BYTES} bytes; this one has ${message.length}`,
    );
  }
  // A search of five, not a table: a bundle that never decodes REFUSED (the widget's
  // volunteer) then carries nothing for it.
  const reason = TUNNEL_REFUSAL_REASON_NAMES.find((name) => TUNNEL_REFUSAL_REASONS[name] === byte);
  if (reason === undefined) {
    throw new TunnelError(
      'ERR_TUNNEL_REFUSAL',
      `REFUSED carries an unknown reason 0x${byte.toString(16).padStart(2, '0')}`,
    );
  }
  return { reason };
}
