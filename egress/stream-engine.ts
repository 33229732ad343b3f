/**
 * The stream multiplexer shared by `/wisp/` and `/tunnel/`: one instance per connection, one
 * handler per packet type (validated packets only; decoding happens in the endpoint).
 * Anything that breaks the protocol for the whole connection goes to `onViolation`, which
 * closes the connection; anything that concerns one stream closes that stream.
 */
import type { WispPacket, WispStreamType } from '../protocol/wisp-types.ts';
import type { Destination } from './destination-policy.ts';
import { StreamFailure } from './errors.ts';
import { StreamChannel, type StreamBehaviour } from './stream-channel.ts';
import type { StreamContext } from './stream-types.ts';
import { UplinkBudget } from './uplink-budget.ts';

export type ViolationCode = 'ERR_EGRESS_STREAM_IN_USE' | 'ERR_EGRESS_UNEXPECTED_PACKET';

/**
 * Makes what sits behind a stream. It may receive uplink bytes at once; `open` follows once the
 * policy has approved the CONNECT's destination (unless the stream closed meanwhile), and
 * throws (a StreamFailure) to close the stream with a reason.
 */
export type StreamOpener = (
  channel: StreamChannel,
  context: StreamContext,
) => StreamBehaviour & { open(destination: Destination): void };

export interface StreamEngineOptions {
  readonly context: StreamContext;
  /** Stream types this endpoint serves; others are closed with 0x41. */
  readonly openers: Partial<Record<WispStreamType, StreamOpener>>;
  /** Tunnel: the consumer grants downlink credit with CONTINUE. /wisp/: unlimited. */
  readonly downlinkCredits: boolean;
  readonly onViolation: (code: ViolationCode, message: string) => void;
  /** The client ended the connection with CLOSE on stream 0. */
  readonly onEnd: () => void;
}

export class StreamEngine {
  readonly #options: StreamEngineOptions;
  readonly #streams = new Map<number, StreamChannel>();
  readonly #uplink: UplinkBudget;
  #initialCredit: number;
  #closed = false;

  constructor(options: StreamEngineOptions) {
    this.#options = options;
    this.#uplink = new UplinkBudget(options.context.limits.uplinkBufferBytes);
    this.#initialCredit = options.downlinkCredits
      ? options.context.limits.defaultDownlinkCredit
      : Number.POSITIVE_INFINITY;
  }

  get openStreams(): number {
    return this.#streams.size;
  }

  /** Sends the initial uplink window (CONTINUE on stream 0), as a Wisp server's first packet. */
  start(): void {
    this.#options.context.transport.send({
      type: 'continue',
      streamId: 0,
      bufferRemaining: this.#options.context.limits.initialBuffer,
    });
  }

  handle(packet: WispPacket): void {
    if (this.#closed) return;
    switch (packet.type) {
      case 'connect':
        return this.#connect(packet.streamId, packet.streamType, packet.hostname, packet.port);
      case 'data':
        return this.#streams.get(packet.streamId)?.receive(packet.payload);
      case 'continue':
        return this.#continue(packet.streamId, packet.bufferRemaining);
      case 'close':
        return this.#close(packet.streamId, packet.reason);
      case 'info':
        return this.#options.onViolation(
          'ERR_EGRESS_UNEXPECTED_PACKET',
          'INFO after the handshake',
        );
    }
  }

  /** The connection's send buffer drained: let every stream send again. */
  drained(): void {
    for (const stream of this.#streams.values()) {
      if (this.#options.context.transport.congested) return;
      stream.flush();
    }
  }

  /** The connection is gone: release every stream without sending anything. */
  close(): void {
    this.#closed = true;
    for (const stream of [...this.#streams.values()]) {
      stream.closeQuietly(0x03);
    }
  }

  #connect(id: number, type: WispStreamType, hostname: string, port: number): void {
    const { context } = this.#options;
    if (this.#streams.has(id)) {
      this.#options.onViolation('ERR_EGRESS_STREAM_IN_USE', `stream ${id} is already open`);
      return;
    }
    let counted = false;
    const channel = new StreamChannel(id, type, context, this.#initialCredit, this.#uplink, (c) => {
      if (this.#streams.get(c.id) === c) this.#streams.delete(c.id);
      context.metrics.streamsOpen.dec({ endpoint: context.endpoint, type: c.type });
      if (counted) context.quota?.closeStream();
    });
    this.#streams.set(id, channel);
    context.metrics.streams.inc({ endpoint: context.endpoint, type });
    context.metrics.streamsOpen.inc({ endpoint: context.endpoint, type });
    if (this.#streams.size > context.limits.maxStreamsPerConnection) {
      channel.fail(new StreamFailure('ERR_EGRESS_THROTTLED', 'too many streams'));
      return;
    }
    if (context.quota !== undefined) {
      counted = context.quota.openStream();
      if (!counted) {
        channel.fail(new StreamFailure('ERR_EGRESS_THROTTLED', "over the token's stream quota"));
        return;
      }
    }
    const opener = this.#options.openers[type];
    if (opener === undefined) {
      channel.fail(new StreamFailure('ERR_EGRESS_INVALID', `${type} streams are not served here`));
      return;
    }
    const behaviour = opener(channel, context);
    channel.attach(behaviour);
    // Every stream type's destination passes the policy here, before anything is dialled. Runs
    // after this packet is handled, so a synchronous throw also becomes a stream failure.
    Promise.resolve()
      .then(() => context.policy.check(hostname, port))
      .then((destination) => {
        if (!channel.closed) behaviour.open(destination);
      })
      .catch((err: unknown) => channel.fail(err));
  }

  #continue(id: number, credit: number): void {
    // A standard Wisp client never sends CONTINUE; only the tunnel has downlink credits.
    if (!this.#options.downlinkCredits) return;
    if (id === 0) {
      this.#initialCredit = credit;
      return;
    }
    this.#streams.get(id)?.grant(credit);
  }

  #close(id: number, reason: number): void {
    if (id === 0) {
      this.#options.onEnd();
      return;
    }
    this.#streams.get(id)?.closeQuietly(reason);
  }
}
