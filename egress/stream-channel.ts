/**
 * One Wisp stream as the egress sees it, independent of what is behind it (TCP socket, HTTP
 * request): uplink window accounting (our CONTINUE packets), downlink credits and the
 * connection's send pressure (pausing the source), and closing exactly once.
 */
import type { Readable } from 'node:stream';
import { WISP_DATA_HEADER_BYTES } from '../protocol/limits.ts';
import { WISP_CLOSE_REASONS, closeReasonName } from '../protocol/wisp-types.ts';
import type { WispCloseReasonName, WispStreamType } from '../protocol/wisp-types.ts';
import { StreamFailure, toStreamFailure } from './errors.ts';
import { UPLINK_OVERRUN_FACTOR } from './limits.ts';
import type { PacketTransport, StreamContext } from './stream-types.ts';
import type { UplinkBudget } from './uplink-budget.ts';

/** What sits behind a stream: a TCP connection or an HTTP request. */
export interface StreamBehaviour {
  /** Uplink bytes; call `done` once they are consumed, which reopens the window. */
  receive(payload: Uint8Array, done: () => void): void;
  /** The stream is over (either side closed it): release everything, quietly. */
  cancel(): void;
}

export class StreamChannel {
  readonly id: number;
  readonly type: WispStreamType;
  readonly #context: StreamContext;
  readonly #onClosed: (channel: StreamChannel) => void;
  #behaviour: StreamBehaviour | null = null;
  #credit: number;
  /** DATA packets sent on this stream, mod 2^32: tunnel grants are limits on this count. */
  #sent = 0;
  readonly #queue: Uint8Array[] = [];
  #source: Readable | null = null;
  #sourceEnded = false;
  #closed = false;
  readonly #uplink: UplinkBudget;
  /** Uplink packets and payload bytes received and not yet consumed. */
  #uplinkQueued = 0;
  #uplinkBytes = 0;
  /** Packets consumed since our last CONTINUE, and what that CONTINUE granted. */
  #uplinkDone = 0;
  #uplinkGrant: number;
  #lastPayloadBytes = 1;

  constructor(
    id: number,
    type: WispStreamType,
    context: StreamContext,
    credit: number,
    uplink: UplinkBudget,
    onClosed: (channel: StreamChannel) => void,
  ) {
    this.id = id;
    this.type = type;
    this.#context = context;
    this.#credit = credit;
    this.#uplink = uplink;
    this.#uplinkGrant = context.limits.initialBuffer;
    this.#onClosed = onClosed;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get #transport(): PacketTransport {
    return this.#context.transport;
  }

  attach(behaviour: StreamBehaviour): void {
    this.#behaviour = behaviour;
  }

  /** Uplink DATA from the client. */
  receive(payload: Uint8Array): void {
    if (this.#closed || this.#behaviour === null) return;
    this.#uplinkQueued++;
    if (this.#uplinkQueued > this.#context.limits.initialBuffer * UPLINK_OVERRUN_FACTOR) {
      this.fail(new StreamFailure('ERR_EGRESS_THROTTLED', 'client ignored the uplink window'));
      return;
    }
    const bytes = payload.length;
    // The connection's byte bound: only this stream pays for a packet that does not fit.
    if (!this.#uplink.take(bytes)) {
      this.fail(
        new StreamFailure(
          'ERR_EGRESS_THROTTLED',
          `uplink packet of ${bytes} bytes over the connection's ${this.#uplink.limit} byte bound`,
        ),
      );
      return;
    }
    this.#uplinkBytes += bytes;
    this.#lastPayloadBytes = Math.max(1, bytes);
    this.#context.metrics.bytes.inc({ endpoint: this.#context.endpoint, direction: 'up' }, bytes);
    // Over the token's bytes the whole tunnel ends (the quota's owner closes it).
    if (this.#context.quota?.spend(bytes) === false) return;
    this.#behaviour.receive(payload, () => this.#uplinkConsumed(bytes));
  }

  #uplinkConsumed(bytes: number): void {
    // A closed stream has already given its bytes back (#finish).
    if (this.#closed) return;
    this.#uplinkQueued--;
    this.#uplinkBytes -= bytes;
    this.#uplink.release(bytes);
    this.#uplinkDone++;
    const { initialBuffer: window, uplinkStreamBytes: budget } = this.#context.limits;
    // Over its byte budget a stream gets no CONTINUE; every consumption looks again, and the
    // last one (nothing held) always passes, so a client out of credit is never left waiting.
    if (this.#uplinkBytes > budget) return;
    // Half a grant at a time, as wisp-js and epoxy expect: fewer CONTINUE packets, no stalls.
    if (this.#uplinkDone < Math.max(1, Math.floor(this.#uplinkGrant / 2))) return;
    // Credits are packets (Wisp); grant no more of the size last seen than fit the budget.
    const fit = Math.max(1, Math.floor((budget - this.#uplinkBytes) / this.#lastPayloadBytes));
    const grant = Math.max(0, Math.min(window - this.#uplinkQueued, fit));
    this.#uplinkDone = 0;
    this.#uplinkGrant = grant;
    this.#transport.send({ type: 'continue', streamId: this.id, bufferRemaining: grant });
  }

  /**
   * Downlink credit from the consumer (tunnel only): `limit` is how many DATA packets we may
   * have sent on this stream in all, mod 2^32 (docs/protocol.md §1.5). A limit is cumulative
   * so that packets already on their way when the consumer granted are never counted twice.
   * A limit behind what we have sent (only a confused or hostile consumer sends one) grants
   * nothing.
   */
  grant(limit: number): void {
    if (this.#closed) return;
    const credit = (limit - this.#sent) >>> 0;
    if (credit > 0x7fff_ffff) return;
    this.#credit = credit;
    this.flush();
  }

  /** Queues downlink bytes (a fetch response head) ahead of the source. */
  write(bytes: Uint8Array): void {
    if (this.#closed || bytes.length === 0) return;
    this.#queue.push(bytes);
    this.flush();
  }

  /** Streams `source` to the client; the stream closes voluntarily once it ends and is sent. */
  pipeFrom(source: Readable): void {
    this.#source = source;
    source.on('data', (chunk: Buffer) => {
      if (this.#closed) return;
      this.#queue.push(chunk);
      this.flush();
    });
    source.once('end', () => {
      this.#sourceEnded = true;
      this.flush();
    });
  }

  /** Sends what credit and connection pressure allow; pauses or resumes the source. */
  flush(): void {
    if (this.#closed) return;
    const maxPayload = this.#transport.maxPacketBytes - WISP_DATA_HEADER_BYTES;
    while (this.#queue.length > 0 && this.#credit > 0 && !this.#transport.congested) {
      const head = this.#queue[0];
      if (head === undefined) break;
      // A socket read (at most 64 KiB) leaves whole when it fits: on /wisp/ it always does.
      const payload = head.length > maxPayload ? head.subarray(0, maxPayload) : head;
      if (payload.length === head.length) this.#queue.shift();
      else this.#queue[0] = head.subarray(maxPayload);
      this.#credit--;
      this.#sent = (this.#sent + 1) >>> 0;
      this.#context.metrics.bytes.inc(
        { endpoint: this.#context.endpoint, direction: 'down' },
        payload.length,
      );
      this.#transport.send({ type: 'data', streamId: this.id, payload });
      if (this.#context.quota?.spend(payload.length) === false) return;
    }
    if (this.#queue.length > 0) {
      this.#source?.pause();
      return;
    }
    if (this.#sourceEnded) {
      this.close('voluntary');
      return;
    }
    this.#source?.resume();
  }

  /** Closes the stream on a failure, with the failure's close reason. */
  fail(err: unknown): void {
    const failure = toStreamFailure(err);
    if (failure.refusal !== undefined && !this.#closed) {
      this.#context.metrics.policyRefusals.inc({
        endpoint: this.#context.endpoint,
        reason: failure.refusal,
      });
    }
    if (!this.#closed) {
      this.#context.log.debug('stream failed', {
        endpoint: this.#context.endpoint,
        stream: this.id,
        code: failure.code,
        message: failure.message,
      });
    }
    this.close(failure.reason);
  }

  /** Closes the stream from our side: sends CLOSE with `reason`. */
  close(reason: WispCloseReasonName): void {
    if (this.#closed) return;
    this.#transport.send({ type: 'close', streamId: this.id, reason: WISP_CLOSE_REASONS[reason] });
    this.#finish(reason, 'egress');
  }

  /** The client closed the stream (or the connection is gone): no CLOSE goes back. */
  closeQuietly(reasonCode: number): void {
    if (this.#closed) return;
    this.#finish(closeReasonName(reasonCode), 'client');
  }

  #finish(reason: WispCloseReasonName, by: 'egress' | 'client'): void {
    this.#closed = true;
    this.#queue.length = 0;
    this.#uplink.release(this.#uplinkBytes);
    this.#uplinkBytes = 0;
    this.#context.metrics.streamCloses.inc({ endpoint: this.#context.endpoint, reason, by });
    this.#behaviour?.cancel();
    this.#source?.destroy();
    this.#onClosed(this);
  }
}
