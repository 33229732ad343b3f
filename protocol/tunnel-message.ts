/**
 * The messages of a tunnel (consumer ⇄ volunteer ⇄ egress). Each is one
 * data-channel message and, past the volunteer, one WebSocket message. The
 * first byte says what it is, so the volunteer can check the HELLO, the
 * consumer can tell the volunteer's own REFUSED from the egress's answer, and
 * the egress can refuse anything out of place without decrypting.
 */
import { TunnelError } from './errors.ts';
import { MAX_TUNNEL_MESSAGE_BYTES } from './limits.ts';

/** Tunnel protocol version carried in HELLO and the handshake init. */
export const TUNNEL_VERSION = 1;

export const TUNNEL_MESSAGE_KINDS = {
  hello: 0x01,
  'handshake-init': 0x02,
  'handshake-response': 0x03,
  frame: 0x04,
  refused: 0x05,
} as const;

export type TunnelMessageKind = keyof typeof TUNNEL_MESSAGE_KINDS;

const KIND_BY_BYTE = new Map<number, TunnelMessageKind>(
  Object.entries(TUNNEL_MESSAGE_KINDS).map(([name, byte]) => [byte, name as TunnelMessageKind]),
);

/**
 * Says which kind of tunnel message `message` is, after checking the size
 * limit; throws `ERR_TUNNEL_TOO_LARGE`, `ERR_TUNNEL_TRUNCATED` or
 * `ERR_TUNNEL_MESSAGE_KIND`.
 */
export function tunnelMessageKind(message: Uint8Array): TunnelMessageKind {
  if (message.length > MAX_TUNNEL_MESSAGE_BYTES) {
    throw new TunnelError(
      'ERR_TUNNEL_TOO_LARGE',
      `tunnel message of ${message.length} bytes is over the ${MAX_TUNNEL_MESSAGE_BYTES}-byte limit`,
    );
  }
  const first = message[0];
  if (first === undefined) throw new TunnelError('ERR_TUNNEL_TRUNCATED', 'empty tunnel message');
  const kind = KIND_BY_BYTE.get(first);
  if (kind === undefined) {
    throw new TunnelError(
      'ERR_TUNNEL_MESSAGE_KIND',
      `unknown tunnel message kind 0x${first.toString(16).padStart(2, '0')}`,
    );
  }
  return kind;
}

/** Like `tunnelMessageKind`, but throws unless the message is of the `expected` kind. */
export function expectTunnelMessage(message: Uint8Array, expected: TunnelMessageKind): void {
  const kind = tunnelMessageKind(message);
  if (kind !== expected) {
    throw new TunnelError('ERR_TUNNEL_MESSAGE_KIND', `expected a ${expected} message, got ${kind}`);
  }
}
