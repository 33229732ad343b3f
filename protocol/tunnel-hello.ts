/**
 * HELLO: the consumer's first message on a data channel, in plaintext, read
 * by the volunteer and not forwarded. It names the egress the consumer wants
 * by its id in the signaling server's egress list (never a URL), so that a
 * consumer cannot make a volunteer's browser connect anywhere else.
 */
import { utf8Encode } from './bytes.ts';
import { TunnelError } from './errors.ts';
import { expectTunnelMessage, TUNNEL_MESSAGE_KINDS, TUNNEL_VERSION } from './tunnel-message.ts';

export interface TunnelHello {
  readonly version: number;
  readonly egressId: string;
}

export const MAX_EGRESS_ID_LENGTH = 64;
const EGRESS_ID = /^[A-Za-z0-9._-]+$/;

/** True for a well-formed egress id: 1–64 characters of `A-Z a-z 0-9 . _ -`. */
export function isValidEgressId(id: string): boolean {
  return id.length >= 1 && id.length <= MAX_EGRESS_ID_LENGTH && EGRESS_ID.test(id);
}

export function encodeHello(egressId: string): Uint8Array<ArrayBuffer> {
  if (typeof egressId !== 'string') {
    throw new TypeError(`egressId: expected a string, got ${typeof egressId}`);
  }
  if (!isValidEgressId(egressId)) {
    throw new RangeError(`egressId: not a valid egress id: ${JSON.stringify(egressId)}`);
  }
  const id = utf8Encode(egressId);
  const out = new Uint8Array(3 + id.length);
  out[0] = TUNNEL_MESSAGE_KINDS.hello;
  out[1] = TUNNEL_VERSION;
  out[2] = id.length;
  out.set(id, 3);
  return out;
}

export function decodeHello(message: Uint8Array): TunnelHello {
  expectTunnelMessage(message, 'hello');
  const version = message[1];
  const length = message[2];
  if (version === undefined || length === undefined) {
    throw new TunnelError('ERR_TUNNEL_TRUNCATED', 'HELLO is shorter than its 3-byte header');
  }
  if (version !== TUNNEL_VERSION) {
    throw new TunnelError(
      'ERR_TUNNEL_VERSION',
      `HELLO asks for tunnel version ${version}; this side speaks ${TUNNEL_VERSION}`,
    );
  }
  if (message.length !== 3 + length) {
    throw new TunnelError(
      message.length < 3 + length ? 'ERR_TUNNEL_TRUNCATED' : 'ERR_TUNNEL_HELLO',
      `HELLO declares a ${length}-byte egress id but carries ${message.length - 3} bytes`,
    );
  }
  // Only ASCII is allowed, so a byte-wise check is exact and needs no UTF-8 decoding.
  let egressId = '';
  for (let i = 3; i < message.length; i++) egressId += String.fromCharCode(message[i] ?? 0);
  if (!isValidEgressId(egressId)) {
    throw new TunnelError('ERR_TUNNEL_HELLO', `HELLO names an invalid egress id`);
  }
  return { version, egressId };
}
