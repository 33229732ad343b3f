/**
 * The consumer's Wisp streams over one tunnel session (docs/protocol.md §1.5, §2): stream ids,
 * CONNECT / DATA / CONTINUE / CLOSE, and flow control both ways — uplink credits from the
 * egress's CONTINUE, downlink credits as cumulative limits granted as the reader reads. It
 * deals in decoded Wisp packets and hands the ones to send to a sink: it knows nothing of
 * sealing, sequence numbers or which path carries them, so the session and path underneath
 * can change without the streams noticing.
 */
import {
  closeReasonName,
  WISP_CLOSE_REASONS,
  type WispPacket,
  type WispStreamType,
} from '../protocol/wisp-types.ts';
import { MeshError, StreamClosedError } from './errors.ts';

/** One byte stream through the tunnel. Closing `readable` (cancel) closes the stream. */
export interface TunnelStream {
  readonly id: number;
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
}

/** Takes one packet to the egress; may throw (a closed path), which reaches the caller. */
export type WispPacketSink = (packet: WispPacket) => void;

export interface StreamMuxOptions {
  /** The largest Wisp packet the carrier takes; DATA payloads are cut to fit. */
  readonly maxPacketBytes: number;
  /** DATA packets the egress may send on a stream before this side has read them. */
  readonly downlinkWindow?: number;
  /** Streams open at once. */
  readonly maxStreams?: number;
}

const DATA_HEADER_BYTES = 5;
const DEFAULT_WINDOW = 64;
const DEFAULT_MAX_STREAMS = 256;
const EMPTY = new Uint8Array(0);

interface StreamState {
  readonly id: number;
  /** DATA packets we may still send (the egress's CONTINUE sets it). */
  uplinkCredit: number;
  /** DATA packets received on this stream, mod 2^32. */
  downlinkReceived: number;
  /** How many DATA packets the egress may send on this stream in all, mod 2^32. */
  downlinkLimit: number;
  readable: ReadableStreamDefaultController<Uint8Array> | undefined;
  creditWaiters: Array<() => void>;
  error: Error | undefined;
  closed: boolean;
}

export class StreamMux {
  readonly #send: WispPacketSink;
  readonly #window: number;
  readonly #maxStreams: number;
  /** Largest DATA payload that fits one packet. */
  readonly #maxDataBytes: number;
  readonly #streams = new Map<number, StreamState>();
  #initialUplinkCredit: number | undefined;
  #initialCreditWaiters: Array<() => void> = [];
  #nextStreamId = 1;
  #failure: Error | undefined;

  constructor(send: WispPacketSink, options: StreamMuxOptions) {
    this.#send = send;
    this.#window = options.downlinkWindow ?? DEFAULT_WINDOW;
    this.#maxStreams = options.maxStreams ?? DEFAULT_MAX_STREAMS;
    if (!Number.isInteger(this.#window) || this.#window < 2 || this.#window > 0xffff) {
      throw new RangeError(`downlinkWindow: expected an integer in 2..65535, got ${this.#window}`);
    }
    this.#maxDataBytes = options.maxPacketBytes - DATA_HEADER_BYTES;
    if (!Number.isInteger(this.#maxDataBytes) || this.#maxDataBytes < 1) {
      throw new RangeError(
        `maxPacketBytes: expected an integer over ${DATA_HEADER_BYTES}, got ${options.maxPacketBytes}`,
      );
    }
  }

  /** Streams open now. */
  get streamCount(): number {
    return this.#streams.size;
  }

  /**
   * Sends the downlink window for every stream, before any stream exists (docs/protocol.md
   * §1.5): the first packet once the session is up.
   */
  announceWindow(): void {
    this.#send({ type: 'continue', streamId: 0, bufferRemaining: this.#window });
  }

  /** Opens a stream of `type` to `host:port`; throws the failure once the mux has failed. */
  open(type: WispStreamType, host: string, port: number): TunnelStream {
    if (this.#failure) throw this.#failure;
    if (this.#streams.size >= this.#maxStreams) {
      throw new MeshError('ERR_STREAM_LIMIT', `${this.#maxStreams} streams are already open`);
    }
    const id = this.#nextStreamId;
    this.#nextStreamId = id >= 0xffff_ffff ? 1 : id + 1;
    const state: StreamState = {
      id,
      uplinkCredit: this.#initialUplinkCredit ?? 0,
      downlinkReceived: 0,
      downlinkLimit: this.#window,
      readable: undefined,
      creditWaiters: [],
      error: undefined,
      closed: false,
    };
    this.#streams.set(id, state);
    try {
      this.#send({ type: 'connect', streamId: id, streamType: type, port, hostname: host });
    } catch (err) {
      // Never opened (say, before the handshake): it must not keep a slot.
      this.#streams.delete(id);
      throw err;
    }
    const readable = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          state.readable = controller;
        },
        pull: () => this.#grant(state),
        cancel: () => this.#closeStream(state, WISP_CLOSE_REASONS.voluntary),
      },
      { highWaterMark: this.#window, size: () => 1 },
    );
    const writable = new WritableStream<Uint8Array>({
      write: async (chunk) => {
        for (let at = 0; at < chunk.length; at += this.#maxDataBytes) {
          await this.#sendData(state, chunk.subarray(at, at + this.#maxDataBytes));
        }
      },
      abort: () => this.#closeStream(state, WISP_CLOSE_REASONS.voluntary),
    });
    return { id, readable, writable };
  }

  /**
   * Sends one empty DATA packet on stream `id` (a fetch stream's end of request body,
   * docs/protocol.md §3), under the same credit as any other. Rejects with
   * `ERR_STREAM_CLOSED` when the stream is no longer open.
   */
  async sendEmptyData(id: number): Promise<void> {
    const state = this.#streams.get(id);
    if (state === undefined) throw new MeshError('ERR_STREAM_CLOSED', `stream ${id} is closed`);
    await this.#sendData(state, EMPTY);
  }

  /**
   * Takes one packet from the egress. Throws `ERR_TUNNEL_CLOSED` for a packet the egress
   * must not send (CONNECT, INFO): the caller ends the tunnel.
   */
  dispatch(packet: WispPacket): void {
    switch (packet.type) {
      case 'continue': {
        if (packet.streamId === 0) {
          this.#initialUplinkCredit = packet.bufferRemaining;
          for (const state of this.#streams.values()) state.uplinkCredit = packet.bufferRemaining;
          for (const wake of this.#initialCreditWaiters.splice(0)) wake();
          return;
        }
        const state = this.#streams.get(packet.streamId);
        if (state === undefined) return;
        state.uplinkCredit = packet.bufferRemaining;
        for (const wake of state.creditWaiters.splice(0)) wake();
        return;
      }
      case 'data': {
        const state = this.#streams.get(packet.streamId);
        if (state === undefined || state.closed) return;
        if (state.downlinkReceived === state.downlinkLimit) {
          // The egress ignored our window: that stream's memory would be unbounded.
          this.#closeStream(state, WISP_CLOSE_REASONS.invalid);
          return;
        }
        state.downlinkReceived = (state.downlinkReceived + 1) >>> 0;
        state.readable?.enqueue(packet.payload);
        this.#grant(state);
        return;
      }
      case 'close': {
        const state = this.#streams.get(packet.streamId);
        if (state === undefined) return;
        this.#streams.delete(state.id);
        state.closed = true;
        if (packet.reason === WISP_CLOSE_REASONS.voluntary) {
          state.readable?.close();
        } else {
          state.error = new StreamClosedError(
            packet.reason,
            `the egress closed stream ${state.id}: ${closeReasonName(packet.reason)}`,
          );
          state.readable?.error(state.error);
        }
        for (const wake of state.creditWaiters.splice(0)) wake();
        return;
      }
      default:
        throw new MeshError(
          'ERR_TUNNEL_CLOSED',
          `unexpected ${packet.type} packet from the egress`,
        );
    }
  }

  /**
   * Ends every stream with a `StreamClosedError` naming `error`, and refuses new ones with
   * `error` itself. Sends nothing: the tunnel underneath is gone.
   */
  fail(error: Error): void {
    if (this.#failure) return;
    this.#failure = error;
    for (const state of this.#streams.values()) {
      state.closed = true;
      state.error = new StreamClosedError(
        WISP_CLOSE_REASONS.unspecified,
        `stream ${state.id} was lost with its tunnel: ${error.message}`,
      );
      try {
        state.readable?.error(state.error);
      } catch {
        // Already closed by the reader.
      }
      for (const wake of state.creditWaiters.splice(0)) wake();
    }
    this.#streams.clear();
    for (const wake of this.#initialCreditWaiters.splice(0)) wake();
  }

  async #sendData(state: StreamState, payload: Uint8Array): Promise<void> {
    if (this.#initialUplinkCredit === undefined && !state.closed && !this.#failure) {
      await new Promise<void>((resolve) => this.#initialCreditWaiters.push(resolve));
    }
    while (state.uplinkCredit <= 0 && !state.closed && !this.#failure) {
      await new Promise<void>((resolve) => state.creditWaiters.push(resolve));
    }
    if (state.error) throw state.error;
    if (this.#failure) throw this.#failure;
    if (state.closed) throw new StreamClosedError(WISP_CLOSE_REASONS.voluntary, 'stream closed');
    state.uplinkCredit--;
    this.#send({ type: 'data', streamId: state.id, payload });
  }

  /**
   * Reopens the egress's window once half of it is used and the reader has room. Grants are
   * cumulative limits (docs/protocol.md §1.5): "send until you have sent this many in all",
   * so packets already on their way when we grant are never counted twice, and whatever
   * the timing, the reader's queue holds at most one window.
   */
  #grant(state: StreamState): void {
    const room = state.readable?.desiredSize ?? 0;
    const outstanding = (state.downlinkLimit - state.downlinkReceived) >>> 0;
    if (state.closed || outstanding > this.#window / 2 || room <= outstanding) return;
    state.downlinkLimit = (state.downlinkReceived + room) >>> 0;
    this.#send({ type: 'continue', streamId: state.id, bufferRemaining: state.downlinkLimit });
  }

  #closeStream(state: StreamState, reason: number): void {
    if (state.closed) return;
    state.closed = true;
    this.#streams.delete(state.id);
    if (!this.#failure) this.#send({ type: 'close', streamId: state.id, reason });
    if (reason !== WISP_CLOSE_REASONS.voluntary) {
      state.error = new StreamClosedError(reason, `stream ${state.id} was closed by this side`);
      try {
        state.readable?.error(state.error);
      } catch {
        // Already closed by the reader.
      }
    }
    for (const wake of state.creditWaiters.splice(0)) wake();
  }
}
