/** What streams and the engine share: the connection's packet transport and the settings. */
import type { Socket } from 'node:net';
import type { WispPacket } from '../protocol/wisp-types.ts';
import type { FaultSite } from '../server-kit/http-boundary.ts';
import type { DestinationPolicy } from './destination-policy.ts';
import type { IpAddress } from './ip-address.ts';
import type { EgressLimits } from './limits.ts';
import type { Logger } from './log.ts';
import type { EgressMetrics, EndpointName } from './metrics.ts';

/** The connection a stream engine sends on: a `/wisp/` WebSocket or a tunnel session. */
export interface PacketTransport {
  /** Largest encoded Wisp packet this transport carries. */
  readonly maxPacketBytes: number;
  /** True while the connection's send buffer is over its high-water mark. */
  readonly congested: boolean;
  send(packet: WispPacket): void;
}

/** Opens a TCP connection to an exact address (injectable so tests can guard every dial). */
export type Dialer = (address: IpAddress, port: number) => Socket;

export interface StreamContext {
  readonly endpoint: EndpointName;
  readonly transport: PacketTransport;
  readonly policy: DestinationPolicy;
  readonly limits: EgressLimits;
  readonly metrics: EgressMetrics;
  readonly log: Logger;
  readonly dial: Dialer;
  /** Trusted CAs for the TLS the egress speaks itself; undefined: Node's defaults. */
  readonly ca: readonly string[] | undefined;
  /** An exception escaped one of our event handlers (a bug of ours): log it and count it. */
  readonly fault: (site: FaultSite, error: unknown) => void;
}
