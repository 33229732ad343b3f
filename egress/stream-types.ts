/** What streams and the engine share: the connection's packet transport and the settings. */
import type { Socket } from 'node:net';
import type { WispPacket } from '../protocol/wisp-types.ts';
import type { IpAddress } from '../server-kit/ip-address.ts';
import type { StreamQuota } from './admission-gate.ts';
import type { EndpointShared } from './endpoint-shared.ts';
import type { EndpointName } from './metrics.ts';

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

/** Everything a connection's endpoint shares, plus which endpoint and its transport. */
export interface StreamContext extends EndpointShared {
  readonly endpoint: EndpointName;
  readonly transport: PacketTransport;
  /** An admitted tunnel's token quotas (none on `/wisp/` or with admission off). */
  readonly quota?: StreamQuota;
}
