/**
 * Wire limits shared by every part. Decoders check these before allocating,
 * so a stranger cannot make us reserve more than these sizes.
 */

/** One tunnel message (one data-channel message / one WebSocket message) on the wire. */
export const MAX_TUNNEL_MESSAGE_BYTES = 16 * 1024;

/** One Wisp packet on `/wisp/` (a WebSocket message). Larger packets are refused. */
export const MAX_WISP_PACKET_BYTES = 64 * 1024;

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
