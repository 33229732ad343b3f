/**
 * The consumer's end of one tunnel: the Noise NK handshake with the egress,
 * then Wisp streams multiplexed over sealed frames, with flow control both
 * ways (docs/protocol.md §1). Transport-agnostic: the owner moves messages
 * between a data channel or WebSocket and `receive()` / `TunnelTransport.send`.
 */
import {
  decodeFetchResponseHead,
  encodeFetchRequestHead,
  FetchHeadReader,
  frameFetchHead,
  type FetchResponseHead,
} from '../protocol/fetch-head.ts';
import { TunnelInitiator } from '../protocol/tunnel-handshake.ts';
import { TUNNEL_MESSAGE_KINDS } from '../protocol/tunnel-message.ts';
import { decodeRefused } from '../protocol/tunnel-refused.ts';
import { MAX_FRAME_PACKET_BYTES, type TunnelSession } from '../protocol/tunnel-session.ts';
import { decodeWispPacket, encodeWispPacket } from '../protocol/wisp-codec.ts';
import {
  closeReasonName,
  WISP_CLOSE_REASONS,
  type WispPacket,
  type WispStreamType,
} from '../protocol/wisp-types.ts';
import { MeshError, StreamClosedError, TunnelRefusedError } from './errors.ts';
import {
  connectTunnelWebSocket,
  webSocketRequest,
  type TunnelWebSocket,
  type TunnelWebSocketOptions,
} from './tunnel-websocket.ts';

/** Where tunnel messages go; the owner feeds what arrives into `TunnelClient.receive`. */
export interface TunnelTransport {
  send(message: Uint8Array<ArrayBuffer>): void;
  close(): void;
}

export interface TunnelClientOptions {
  /** The egress's static X25519 public key (from the egress list, or pinned). */
  readonly egressPublicKey: Uint8Array;
  /** DATA packets the egress may send on a stream before this side has read them. */
  readonly downlinkWindow?: number;
  /** Streams open at once on this tunnel. */
  readonly maxStreams?: number;
  /**
   * Liveness probing (docs/protocol.md §1.5): after `idleMs` without a message from
   * the egress, send an empty frame, which the egress answers; when nothing at all
   * has arrived `timeoutMs` after a probe, the tunnel fails with
   * `ERR_TUNNEL_TIMEOUT`. A volunteer that dies without a goodbye is otherwise
   * noticed only by WebRTC's own timeouts, about 30 s later. Defaults 1 s and 4 s.
   */
  readonly keepalive?: { readonly idleMs: number; readonly timeoutMs: number };
}

/** An HTTP request with its head as a list of pairs (see `TunnelClient.exchange`). */
export interface HttpExchangeRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: ReadableStream<Uint8Array> | null;
}

export interface HttpExchangeResponse {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Array<[string, string]>;
  readonly body: ReadableStream<Uint8Array> | null;
}

/** One byte stream through the tunnel. Closing `readable` (cancel) closes the stream. */
export interface TunnelStream {
  readonly id: number;
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
}

const DATA_HEADER_BYTES = 5;
/** Largest DATA payload that fits one frame. */
const MAX_DATA_BYTES = MAX_FRAME_PACKET_BYTES - DATA_HEADER_BYTES;
const DEFAULT_WINDOW = 64;
const DEFAULT_MAX_STREAMS = 256;
const DEFAULT_KEEPALIVE = { idleMs: 1_000, timeoutMs: 4_000 };
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

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

export class TunnelClient {
  /**
   * Resolves when the handshake has completed; rejects if it fails, with a
   * `TunnelRefusedError` (`ERR_TUNNEL_REFUSED`) when the volunteer refused the tunnel.
   */
  readonly ready: Promise<void>;
  readonly #transport: TunnelTransport;
  readonly #initiator: TunnelInitiator;
  readonly #window: number;
  readonly #maxStreams: number;
  readonly #streams = new Map<number, StreamState>();
  #session: TunnelSession | undefined;
  #initialUplinkCredit: number | undefined;
  #initialCreditWaiters: Array<() => void> = [];
  #nextStreamId = 1;
  #failure: Error | undefined;
  readonly #keepalive: { readonly idleMs: number; readonly timeoutMs: number };
  #keepaliveTimer: ReturnType<typeof setInterval> | undefined;
  #lastReceivedAt = Date.now();
  /** When the unanswered probe was sent; undefined while none is outstanding. */
  #probeSentAt: number | undefined;
  #resolveReady!: () => void;
  #rejectReady!: (err: Error) => void;
  /** Called once when the tunnel ends, with the reason when it failed. */
  onclose: ((error: Error | undefined) => void) | undefined;

  constructor(transport: TunnelTransport, options: TunnelClientOptions) {
    this.#transport = transport;
    this.#window = options.downlinkWindow ?? DEFAULT_WINDOW;
    this.#maxStreams = options.maxStreams ?? DEFAULT_MAX_STREAMS;
    if (!Number.isInteger(this.#window) || this.#window < 2 || this.#window > 0xffff) {
      throw new RangeError(`downlinkWindow: expected an integer in 2..65535, got ${this.#window}`);
    }
    this.#keepalive = options.keepalive ?? DEFAULT_KEEPALIVE;
    const { idleMs, timeoutMs } = this.#keepalive;
    if (!(idleMs > 0) || !(timeoutMs > 0)) {
      throw new RangeError(`keepalive: expected positive idleMs and timeoutMs`);
    }
    this.ready = new Promise((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    // A failed handshake is reported through `ready` and `onclose`; don't let an
    // unobserved `ready` crash the process.
    this.ready.catch(() => undefined);
    this.#initiator = new TunnelInitiator(options.egressPublicKey);
    const init = this.#initiator.writeInit();
    try {
      transport.send(init);
    } catch {
      // The transport is closing already, e.g. a volunteer refused the tunnel as soon as it
      // read the HELLO and its close beat this message. What the owner feeds in next says
      // why (`receive` of a REFUSED, or `transportClosed`); until then `ready` stays
      // pending, and the owner's timeout covers a transport that never says.
    }
  }

  /** True until the tunnel fails or is closed. */
  get isOpen(): boolean {
    return this.#failure === undefined;
  }

  get streamCount(): number {
    return this.#streams.size;
  }

  /**
   * False while a liveness probe has gone unanswered for longer than the idle
   * time: the tunnel may be dead, so new streams should prefer another one.
   */
  get responsive(): boolean {
    return (
      this.#probeSentAt === undefined || Date.now() - this.#probeSentAt < this.#keepalive.idleMs
    );
  }

  /** Feeds one message that arrived from the transport. */
  receive(message: Uint8Array): void {
    if (this.#failure) return;
    this.#lastReceivedAt = Date.now();
    this.#probeSentAt = undefined;
    try {
      if (this.#session === undefined) {
        // Until the egress has answered, the volunteer may say it will not carry this
        // tunnel (docs/protocol.md §1.7); afterwards only sealed frames count.
        if (message[0] === TUNNEL_MESSAGE_KINDS.refused) {
          this.#fail(new TunnelRefusedError(decodeRefused(message).reason));
          return;
        }
        this.#session = this.#initiator.readResponse(message).session;
        // Downlink credit for every stream, before any stream exists (docs/protocol.md §1.5).
        this.#send({ type: 'continue', streamId: 0, bufferRemaining: this.#window });
        this.#startKeepalive();
        this.#resolveReady();
        return;
      }
      const frame = this.#session.open(message);
      if (frame.packet.length === 0) return;
      this.#dispatch(decodeWispPacket(frame.packet, { maxBytes: MAX_FRAME_PACKET_BYTES }));
    } catch (err) {
      this.#fail(
        new MeshError(
          this.#session ? 'ERR_TUNNEL_CLOSED' : 'ERR_TUNNEL_HANDSHAKE',
          `tunnel refused a message from the egress: ${err instanceof Error ? err.message : String(err)}`,
          { cause: err },
        ),
      );
    }
  }

  /** Tells the client that the transport has closed. */
  transportClosed(): void {
    this.#fail(new MeshError('ERR_TUNNEL_CLOSED', 'the tunnel closed'), false);
  }

  /** Closes every stream and the transport. */
  close(): void {
    this.#fail(new MeshError('ERR_TUNNEL_CLOSED', 'the tunnel was closed by this side'));
  }

  /** Opens a TCP stream to `host:port` through the egress. */
  openStream(host: string, port: number): TunnelStream {
    return this.#open('tcp', host, port);
  }

  /**
   * Performs `request` at the egress (a fetch stream) and returns its response.
   * Redirects come back as they are; the body arrives decoded.
   */
  async fetch(request: Request): Promise<Response> {
    const response = await this.exchange({
      method: request.method,
      url: request.url,
      headers: [...request.headers],
      body: request.body,
    });
    const init = {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    };
    return new Response(response.body, init);
  }

  /**
   * One HTTP exchange at the egress with heads as lists of pairs, so a caller
   * that keeps its own cookies can send `Cookie` and read `Set-Cookie` (which a
   * browser's Request and Response hide). Statuses without a body come back
   * with `body: null`.
   */
  async exchange(request: HttpExchangeRequest): Promise<HttpExchangeResponse> {
    const url = new URL(request.url);
    const port = url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
    const head = encodeFetchRequestHead({
      method: request.method,
      url: url.href,
      headers: request.headers.map(([name, value]): [string, string] => [name, value]),
      hasBody: request.body !== null,
    });
    const stream = this.#open('fetch', url.hostname.replace(/^\[|\]$/g, ''), port);
    const writer = stream.writable.getWriter();
    const reader = stream.readable.getReader();
    const upload = (async () => {
      await writer.write(frameFetchHead(head));
      if (request.body === null) return;
      const body = request.body.getReader();
      for (;;) {
        const { done, value } = await body.read();
        if (done) break;
        if (value.length > 0) await writer.write(value);
      }
      await this.#sendData(this.#state(stream.id), new Uint8Array(0));
    })();
    upload.catch(() => undefined);
    try {
      const { head: responseHead, rest } = await readResponseHead(reader);
      return toExchangeResponse(responseHead, rest, reader);
    } catch (err) {
      void reader.cancel().catch(() => undefined);
      throw err;
    }
  }

  /**
   * Opens a WebSocket connection at the egress (a websocket stream, docs/protocol.md §3a);
   * resolves once the origin has answered the upgrade: `status` 101 and an open socket, or
   * its refusal (another status, the socket closed). A refused destination or a failed
   * connection rejects with a `StreamClosedError` carrying the egress's reason.
   */
  async openWebSocket(options: TunnelWebSocketOptions): Promise<TunnelWebSocket> {
    const request = webSocketRequest(options);
    const stream = this.#open('websocket', request.target.host, request.target.port);
    return connectTunnelWebSocket(stream, request);
  }

  #open(type: WispStreamType, host: string, port: number): TunnelStream {
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
    this.#send({ type: 'connect', streamId: id, streamType: type, port, hostname: host });
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
        for (let at = 0; at < chunk.length; at += MAX_DATA_BYTES) {
          await this.#sendData(state, chunk.subarray(at, at + MAX_DATA_BYTES));
        }
      },
      abort: () => this.#closeStream(state, WISP_CLOSE_REASONS.voluntary),
    });
    return { id, readable, writable };
  }

  #state(id: number): StreamState {
    const state = this.#streams.get(id);
    if (state === undefined) throw new MeshError('ERR_STREAM_CLOSED', `stream ${id} is closed`);
    return state;
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

  #dispatch(packet: WispPacket): void {
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
        // Already closed or errored by the reader.
      }
    }
    for (const wake of state.creditWaiters.splice(0)) wake();
  }

  /**
   * Checks often enough to notice silence within a fraction of `idleMs`. The probe's
   * age, not the silence, decides death, so a throttled timer (a background tab may
   * run it once a minute) cannot declare a healthy tunnel dead.
   */
  #startKeepalive(): void {
    const { idleMs, timeoutMs } = this.#keepalive;
    const timer = setInterval(
      () => {
        const now = Date.now();
        if (this.#probeSentAt !== undefined) {
          if (now - this.#probeSentAt >= timeoutMs) {
            this.#fail(
              new MeshError(
                'ERR_TUNNEL_TIMEOUT',
                `the tunnel went silent: no answer to a probe within ${timeoutMs} ms`,
              ),
            );
          }
          return;
        }
        if (now - this.#lastReceivedAt >= idleMs && this.#session !== undefined) {
          this.#probeSentAt = now;
          try {
            this.#transport.send(this.#session.seal(new Uint8Array(0)));
          } catch (err) {
            this.#fail(new MeshError('ERR_TUNNEL_CLOSED', 'the tunnel closed', { cause: err }));
          }
        }
      },
      Math.max(50, Math.min(idleMs, timeoutMs) / 4),
    );
    // Node: a tunnel's timer alone must not keep a process alive.
    (timer as { unref?: () => void }).unref?.();
    this.#keepaliveTimer = timer;
  }

  #send(packet: WispPacket): void {
    if (this.#session === undefined) throw new MeshError('ERR_TUNNEL_HANDSHAKE', 'not ready');
    this.#transport.send(this.#session.seal(encodeWispPacket(packet)));
  }

  #fail(error: Error, closeTransport = true): void {
    if (this.#failure) return;
    this.#failure = error;
    clearInterval(this.#keepaliveTimer);
    this.#rejectReady(error);
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
    if (closeTransport) this.#transport.close();
    this.onclose?.(error);
  }
}

async function readResponseHead(
  reader: ReadableStreamDefaultReader<Uint8Array>,
): Promise<{ head: FetchResponseHead; rest: Uint8Array }> {
  const heads = new FetchHeadReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) {
      heads.end();
      throw new MeshError('ERR_FETCH_RESPONSE', 'the egress ended the response before its head');
    }
    heads.push(value);
    const frame = heads.read();
    if (frame) return { head: decodeFetchResponseHead(frame.head), rest: frame.rest };
  }
}

function toExchangeResponse(
  head: FetchResponseHead,
  rest: Uint8Array,
  reader: ReadableStreamDefaultReader<Uint8Array>,
): HttpExchangeResponse {
  if (head.status < 200) {
    void reader.cancel().catch(() => undefined);
    throw new MeshError('ERR_FETCH_RESPONSE', `the egress returned status ${head.status}`);
  }
  const response = { status: head.status, statusText: head.statusText, headers: head.headers };
  if (NULL_BODY_STATUSES.has(head.status)) {
    void reader.cancel().catch(() => undefined);
    return { ...response, body: null };
  }
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      if (rest.length > 0) controller.enqueue(rest);
    },
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  return { ...response, body };
}
