/**
 * Wire limits shared by every part. Decoders check these before allocating,
 * so a stranger cannot make us reserve more than these sizes.
 */

/**
 * One tunnel message (one data-channel message / one WebSocket message) on the wire. Frames stay
 * this small by design (they cross volunteers' data channels), whatever `/wisp/` accepts.
 */
export const MAX_TUNNEL_MESSAGE_BYTES = 16 * 1024;

/** Bytes ahead of a Wisp DATA payload: the packet type (1) and the stream id (4). */
export const WISP_DATA_HEADER_BYTES = 5;

/**
 * The codec's default packet limit, and the largest packet the egress sends on `/wisp/`: a DATA
 * packet carrying one whole 64 KiB socket read (Node reads at most 64 KiB at a time), so a read
 * never leaves as a full packet plus a sliver. The Wisp specification sets no packet size; the
 * reference server and wisp-js send and accept packets of this size.
 *
 * What the egress accepts *from* a client is larger and configurable: uplink DATA packets up to
 * the connection's uplink byte bound (`EgressLimits.uplinkBufferBytes`, 16 MiB by default), as
 * common WASM clients send 64 KiB + 5 byte packets or a whole request body in one packet.
 */
export const MAX_WISP_PACKET_BYTES = 64 * 1024 + WISP_DATA_HEADER_BYTES;

/** Longest hostname in a Wisp CONNECT packet (DNS limit, in bytes). */
export const MAX_HOSTNAME_BYTES = 253;

/** HTTP heads of fetch streams. */
export const MAX_FETCH_HEAD_BYTES = 16 * 1024;
export const MAX_FETCH_HEADERS = 100;

/**
 * One message (text or binary payload) of a websocket stream, either way. A receiver refuses a
 * larger declared length as soon as the frame header is in, before buffering the payload.
 */
export const MAX_WEBSOCKET_MESSAGE_BYTES = 1024 * 1024;

/** Largest JSON message accepted from a signaling or matchmaking client. */
export const MAX_SIGNALING_MESSAGE_BYTES = 64 * 1024;
