/**
 * Wisp wire vocabulary: packet types, stream types, close reasons, extension ids and the
 * packet shapes. Written once here; everything else refers to the names.
 *
 * Sources: Wisp protocol v1.2 and the v2 draft (MercuryWorkshop/wisp-protocol `protocol.md`
 * on `main` and on the `v2` branch, draft 6).
 */

/** Packet type byte (offset 0 of every packet). INFO exists only in Wisp v2. */
export const WISP_PACKET_TYPES = {
  connect: 0x01,
  data: 0x02,
  continue: 0x03,
  close: 0x04,
  info: 0x05,
} as const;
export type WispPacketType = keyof typeof WISP_PACKET_TYPES;

/**
 * Stream type byte of CONNECT. `tcp` and `udp` are standard Wisp. Values ≥ 0x80 are this
 * project's tunnel-only extensions, never offered on the public `/wisp/` endpoint:
 * `fetch` is an HTTP request that the egress performs itself (see `fetch-head.ts`), because a
 * service worker cannot speak TLS over a raw stream without WebAssembly; `websocket` is a
 * WebSocket connection that the egress opens itself and whose messages it relays (see
 * `websocket-frame.ts`), for the same reason.
 */
export const WISP_STREAM_TYPES = {
  tcp: 0x01,
  udp: 0x02,
  fetch: 0x80,
  websocket: 0x81,
} as const;
export type WispStreamType = keyof typeof WISP_STREAM_TYPES;

/**
 * Every close reason the spec lists (v1.2, plus `incompatible-extensions` and the
 * authentication reasons added by the v2 draft). The spec groups them by sender: 0x0_ either
 * side, 0x4_ server only, 0x8_ client only, 0xc_ defined by extensions.
 */
export const WISP_CLOSE_REASONS = {
  unspecified: 0x01,
  voluntary: 0x02,
  'network-error': 0x03,
  'incompatible-extensions': 0x04,
  invalid: 0x41,
  unreachable: 0x42,
  timeout: 0x43,
  refused: 0x44,
  'tcp-timeout': 0x47,
  blocked: 0x48,
  throttled: 0x49,
  'client-error': 0x81,
  'auth-bad-password': 0xc0,
  'auth-bad-signature': 0xc1,
  'auth-required': 0xc2,
} as const;
export type WispCloseReasonName = keyof typeof WISP_CLOSE_REASONS;
export type WispCloseReasonCode = (typeof WISP_CLOSE_REASONS)[WispCloseReasonName];

/** Extension ids of the v2 INFO packet (v2 draft 6). Unknown ids are carried through as-is. */
export const WISP_EXTENSION_IDS = {
  udp: 0x01,
  'password-auth': 0x02,
  'key-auth': 0x03,
  motd: 0x04,
  'stream-open-confirmation': 0x05,
} as const;
export type WispExtensionName = keyof typeof WISP_EXTENSION_IDS;

/**
 * The spec's name for close reason `code`. A search of fifteen, not a table built at load: a
 * bundle that never names a close reason (the widget's volunteer) then carries none of them.
 */
function knownCloseReason(code: number): WispCloseReasonName | undefined {
  return (Object.keys(WISP_CLOSE_REASONS) as WispCloseReasonName[]).find(
    (name) => WISP_CLOSE_REASONS[name] === code,
  );
}

/** True when `code` is a close reason the spec defines. */
export function isKnownCloseReason(code: number): code is WispCloseReasonCode {
  return knownCloseReason(code) !== undefined;
}

/**
 * The name of a close reason. Unknown codes map to `'unspecified'`, which is how the spec
 * tells receivers to treat them; this also keeps metric labels to a fixed set.
 */
export function closeReasonName(code: number): WispCloseReasonName {
  return knownCloseReason(code) ?? 'unspecified';
}

/** Opens a stream. `streamId` is never 0. */
export interface WispConnectPacket {
  type: 'connect';
  streamId: number;
  streamType: WispStreamType;
  /** 1..65535 */
  port: number;
  /** 1..253 UTF-8 bytes, no control characters (C0, DEL, C1) and no whitespace. */
  hostname: string;
}

/** Stream bytes. `streamId` is never 0. An empty payload is legal (fetch streams use it). */
export interface WispDataPacket {
  type: 'data';
  streamId: number;
  /**
   * From `decodeWispPacket` this is a view into the decoded packet's buffer, not a copy: data
   * is forwarded straight away on the hot path. Copy it before keeping it past the next reuse
   * of that buffer.
   */
  payload: Uint8Array;
}

/** Flow-control credit. On stream 0 it is the initial buffer size for every stream. */
export interface WispContinuePacket {
  type: 'continue';
  streamId: number;
  /** u32: how many more DATA packets the receiver of this packet may send on the stream. */
  bufferRemaining: number;
}

/**
 * Closes a stream; on stream 0 (v2) it rejects or ends the whole connection during the
 * handshake. `reason` stays numeric so that unknown codes survive a round trip; use
 * `closeReasonName` to name it.
 */
export interface WispClosePacket {
  type: 'close';
  streamId: number;
  /** u8 */
  reason: number;
}

/** One extension record of an INFO packet. */
export interface WispExtension {
  /** u8; see `WISP_EXTENSION_IDS`. */
  id: number;
  /** From `decodeWispPacket` this is a fresh copy: records live as long as the connection. */
  payload: Uint8Array;
}

/** Wisp v2 handshake packet. Only ever sent on stream 0. */
export interface WispInfoPacket {
  type: 'info';
  streamId: 0;
  /** u8 */
  major: number;
  /** u8 */
  minor: number;
  extensions: WispExtension[];
}

export type WispPacket =
  WispConnectPacket | WispDataPacket | WispContinuePacket | WispClosePacket | WispInfoPacket;

/**
 * The credentials of a client's password-authentication INFO record (extension `0x02`), as
 * bytes: the server compares them, it never needs them as text.
 */
export interface WispPasswordCredentials {
  /** 1..255 bytes of UTF-8. */
  username: Uint8Array;
  password: Uint8Array;
}

export interface WispCodecOptions {
  /** Largest whole packet accepted or produced, in bytes. Default `MAX_WISP_PACKET_BYTES`. */
  maxBytes?: number;
}
