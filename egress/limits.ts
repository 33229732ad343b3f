import { WISP_DATA_HEADER_BYTES } from '../protocol/limits.ts';

/**
 * Default limits of an egress. Each bounds memory or time that a stranger could otherwise make
 * us spend; docs/egress.md lists them with their flags.
 */
export interface EgressLimits {
  /** Uplink window: DATA packets a client may send per stream before our next CONTINUE. */
  readonly initialBuffer: number;
  /**
   * Uplink payload bytes one connection may hold (received, not yet handed to the destinations'
   * sockets). A DATA packet that would take the connection over it closes its stream with 0x49;
   * on `/wisp/` a WebSocket message longer than this plus the DATA header closes the connection
   * (1009), so this is also the largest uplink packet.
   */
  readonly uplinkBufferBytes: number;
  /**
   * Uplink bytes one stream may hold before its CONTINUE is withheld; CONTINUE also grants no
   * more packets (of the size the client last sent) than fit under it. Packet credits are what
   * Wisp speaks, this turns them into a byte budget.
   */
  readonly uplinkStreamBytes: number;
  /** Downlink window in the tunnel until the consumer sets one with CONTINUE on stream 0. */
  readonly defaultDownlinkCredit: number;
  readonly maxStreamsPerConnection: number;
  readonly maxConnectionsPerIp: number;
  /** Resolution and TCP connect, each. */
  readonly connectTimeoutMs: number;
  /** A stream with no traffic either way for this long is closed (0x47). */
  readonly idleTimeoutMs: number;
  /** Noise handshake on /tunnel/, INFO exchange on /wisp/ (v2). */
  readonly handshakeTimeoutMs: number;
  /** Interval of WebSocket pings; a connection that missed a pong is dropped. */
  readonly pingIntervalMs: number;
  /** Bytes queued on one WebSocket above which every stream of it stops reading. */
  readonly sendHighWaterBytes: number;
  readonly deniedPorts: readonly number[];
}

export const DEFAULT_LIMITS: EgressLimits = {
  initialBuffer: 128,
  uplinkBufferBytes: 16 * 1024 * 1024,
  uplinkStreamBytes: 2 * 1024 * 1024,
  defaultDownlinkCredit: 128,
  maxStreamsPerConnection: 256,
  maxConnectionsPerIp: 32,
  connectTimeoutMs: 10_000,
  idleTimeoutMs: 300_000,
  handshakeTimeoutMs: 10_000,
  pingIntervalMs: 30_000,
  sendHighWaterBytes: 1024 * 1024,
  deniedPorts: [25],
};

/**
 * A client may exceed its window by the packets it sent before our CONTINUE reached it, which
 * is at most one earlier window; beyond twice the window it is ignoring flow control.
 */
export const UPLINK_OVERRUN_FACTOR = 2;

/**
 * Largest WebSocket message `/wisp/` accepts (its `maxPayload` and the decoder's limit): one DATA
 * packet carrying the connection's whole uplink bound. Anything longer closes the connection
 * (1009), since it cannot be read without holding it; a packet within it that does not fit the
 * connection's remaining bound closes only its stream (0x49).
 */
export function maxWispMessageBytes(limits: Pick<EgressLimits, 'uplinkBufferBytes'>): number {
  return limits.uplinkBufferBytes + WISP_DATA_HEADER_BYTES;
}
