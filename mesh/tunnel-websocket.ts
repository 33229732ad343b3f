/**
 * A WebSocket connection that the egress opens for us (a websocket stream, docs/protocol.md
 * §3a): we send the upgrade request head and whole messages, the egress performs the handshake
 * with the origin and relays messages both ways. `TunnelWebSocket` is shaped for a browser-side
 * shim of the DOM's `WebSocket`: status and headers of the upgrade, `protocol`, `readyState`,
 * `bufferedAmount`, `send`, `close`, and `message` / `close` events.
 */
import { utf8Encode } from '../protocol/bytes.ts';
import {
  decodeFetchResponseHead,
  FetchHeadReader,
  frameFetchHead,
  type FetchResponseHead,
} from '../protocol/fetch-head.ts';
import { MAX_WEBSOCKET_MESSAGE_BYTES } from '../protocol/limits.ts';
import {
  encodeWebSocketFrame,
  encodeWebSocketFrameHeader,
  isWebSocketCloseCode,
  MAX_WEBSOCKET_CLOSE_REASON_BYTES,
  WEBSOCKET_FRAME_HEADER_BYTES,
  WEBSOCKET_NO_STATUS,
  WebSocketFrameReader,
  type WebSocketFrame,
} from '../protocol/websocket-frame.ts';
import {
  encodeWebSocketRequestHead,
  WEBSOCKET_UPGRADE_STATUS,
  webSocketTarget,
  type WebSocketTarget,
} from '../protocol/websocket-head.ts';
import { Emitter } from './emitter.ts';
import { MeshError } from './errors.ts';
import type { TunnelStream } from './tunnel-client.ts';

export interface TunnelWebSocketOptions {
  /** A `ws:` or `wss:` URL (`http:` and `https:` mean the same, as for the DOM's WebSocket). */
  readonly url: string;
  /** Subprotocols to offer, in order of preference; sent as `Sec-WebSocket-Protocol`. */
  readonly protocols?: readonly string[];
  /**
   * Request headers for the origin: `Origin`, `Cookie`, `User-Agent`… The egress drops the
   * ones it sets itself (`Host`, the handshake's own).
   */
  readonly headers?: ReadonlyArray<readonly [string, string]>;
}

/** How the connection ended, as the DOM's CloseEvent says it. */
export interface TunnelWebSocketClose {
  /** The close frame's code; 1005 when it had none, 1006 when there was no close frame. */
  readonly code: number;
  readonly reason: string;
  /** True when the closing handshake completed (a close frame arrived). */
  readonly wasClean: boolean;
  /**
   * Why it ended without a close frame: a `StreamClosedError` with the egress's reason, or a
   * protocol error.
   */
  readonly error: Error | undefined;
}

export interface TunnelWebSocketEvents {
  /** A whole message: text as a string, binary as bytes. */
  message: string | Uint8Array;
  /** Once, when the connection has ended. */
  close: TunnelWebSocketClose;
}

export type TunnelWebSocketState = 'open' | 'closing' | 'closed';

/** A validated request, ready to go out as soon as the stream is open. */
export interface TunnelWebSocketRequest {
  readonly target: WebSocketTarget;
  readonly head: Uint8Array;
}

/** The code reported when a connection ended without a close frame (RFC 6455 §7.1.5). */
const ABNORMAL_CLOSURE = 1006;
const NORMAL_CLOSURE = 1000;
/** RFC 9110 token: what a subprotocol name must be. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const textDecoder = new TextDecoder();

/**
 * Checks `options` and encodes the request head, before any stream is opened: a bad URL or
 * subprotocol list is a `TypeError`, a head the wire cannot carry a `FetchHeadError`.
 */
export function webSocketRequest(options: TunnelWebSocketOptions): TunnelWebSocketRequest {
  const target = webSocketTarget(options.url);
  const protocols = options.protocols ?? [];
  const seen = new Set<string>();
  for (const protocol of protocols) {
    if (typeof protocol !== 'string' || !TOKEN.test(protocol) || seen.has(protocol)) {
      throw new TypeError(`protocols: ${JSON.stringify(protocol)} is not a distinct token`);
    }
    seen.add(protocol);
  }
  const headers = (options.headers ?? []).map(([name, value]): [string, string] => [name, value]);
  if (protocols.length > 0) headers.unshift(['Sec-WebSocket-Protocol', protocols.join(', ')]);
  return { target, head: encodeWebSocketRequestHead(target, headers) };
}

/**
 * Sends the request head on a freshly opened websocket stream and waits for the response head.
 * Rejects with the stream's error (`StreamClosedError`: blocked, unreachable…) when the egress
 * closes the stream before answering.
 */
export async function connectTunnelWebSocket(
  stream: TunnelStream,
  request: TunnelWebSocketRequest,
): Promise<TunnelWebSocket> {
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  writer.write(frameFetchHead(request.head)).catch(() => undefined);
  try {
    const heads = new FetchHeadReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        heads.end();
        throw new MeshError('ERR_FETCH_RESPONSE', 'the egress ended the stream before its head');
      }
      heads.push(value);
      const frame = heads.read();
      if (frame === null) continue;
      const head = decodeFetchResponseHead(frame.head);
      return new TunnelWebSocket(request.target.wsUrl, head, frame.rest, reader, writer);
    }
  } catch (err) {
    void reader.cancel().catch(() => undefined);
    throw err;
  }
}

/**
 * One WebSocket connection through the tunnel. Nothing is read from the stream until a
 * listener is added (or `close` is called), so listeners added as soon as the open resolves
 * miss nothing; until then, and while `pause()`d, messages wait under the stream's flow
 * control, and the egress stops reading the origin.
 */
export class TunnelWebSocket extends Emitter<TunnelWebSocketEvents> {
  /** The `ws:` or `wss:` URL. */
  readonly url: string;
  /** 101 when the origin accepted the upgrade; otherwise its refusal, and the socket is closed. */
  readonly status: number;
  readonly statusText: string;
  /** The origin's response headers (hop-by-hop ones removed), repeated names kept. */
  readonly headers: Array<[string, string]>;
  /** The subprotocol the origin chose, or ''. */
  readonly protocol: string;
  /** Resolves once, when the connection has ended. */
  readonly closed: Promise<TunnelWebSocketClose>;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #frames = new WebSocketFrameReader();
  /** Frames read from the stream and not yet delivered (one chunk's worth at most). */
  readonly #queue: WebSocketFrame[] = [];
  #rest: Uint8Array | null;
  #state: TunnelWebSocketState;
  #ended: TunnelWebSocketClose | undefined;
  #buffered = 0;
  #started = false;
  #reading = false;
  #paused = false;
  #resolveClosed!: (close: TunnelWebSocketClose) => void;

  /** Use `TunnelClient.openWebSocket`. */
  constructor(
    url: string,
    head: FetchResponseHead,
    rest: Uint8Array,
    reader: ReadableStreamDefaultReader<Uint8Array>,
    writer: WritableStreamDefaultWriter<Uint8Array>,
  ) {
    super();
    this.url = url;
    this.status = head.status;
    this.statusText = head.statusText;
    this.headers = head.headers;
    this.protocol =
      head.headers.find(([name]) => name.toLowerCase() === 'sec-websocket-protocol')?.[1] ?? '';
    this.#reader = reader;
    this.#writer = writer;
    this.#rest = rest.length > 0 ? rest : null;
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.#state = 'open';
    if (head.status !== WEBSOCKET_UPGRADE_STATUS) {
      // The origin refused the upgrade; the egress closes the stream after the head.
      this.#finish({ code: ABNORMAL_CLOSURE, reason: '', wasClean: false, error: undefined });
      return;
    }
    // A stream that fails (the egress's CLOSE with an error, the tunnel lost) has lost what it
    // queued anyway: report it at once, even while nothing is reading.
    reader.closed.catch((err: unknown) => {
      const error = err instanceof Error ? err : new Error(String(err));
      this.#finish({ code: ABNORMAL_CLOSURE, reason: '', wasClean: false, error });
    });
  }

  get readyState(): TunnelWebSocketState {
    return this.#state;
  }

  /** Bytes of messages passed to `send` that the tunnel has not taken yet (uplink credit). */
  get bufferedAmount(): number {
    return this.#buffered;
  }

  /** Adds a listener; the first one starts reading. */
  override on<K extends keyof TunnelWebSocketEvents>(
    type: K,
    listener: (detail: TunnelWebSocketEvents[K]) => void,
  ): () => void {
    const off = super.on(type, listener);
    this.#start();
    return off;
  }

  /**
   * Sends one message: a string as text (UTF-8), bytes as binary (copied). A message over
   * 1 MiB is a `RangeError`. After `close`, or once closed, messages are dropped, as the DOM's
   * WebSocket drops them.
   */
  send(data: string | Uint8Array): void {
    let type: 'text' | 'binary';
    let payload: Uint8Array;
    if (typeof data === 'string') {
      type = 'text';
      payload = utf8Encode(data);
    } else if (data instanceof Uint8Array) {
      type = 'binary';
      payload = data;
    } else {
      throw new TypeError(`data: expected a string or a Uint8Array, got ${typeof data}`);
    }
    if (payload.length > MAX_WEBSOCKET_MESSAGE_BYTES) {
      throw new RangeError(
        `data: a message of ${payload.length} bytes exceeds ${MAX_WEBSOCKET_MESSAGE_BYTES}`,
      );
    }
    if (this.#state !== 'open') return;
    const frame = new Uint8Array(WEBSOCKET_FRAME_HEADER_BYTES + payload.length);
    frame.set(encodeWebSocketFrameHeader(type, payload.length));
    frame.set(payload, WEBSOCKET_FRAME_HEADER_BYTES);
    this.#write(frame, payload.length);
  }

  /**
   * Starts the closing handshake; the `close` event follows the origin's answer. `code` is one
   * a client may send (1000–1003, 1007–1014, 3000–4999, else `RangeError`), `reason` at most 123
   * bytes of UTF-8 (`RangeError`). A reason without a code is sent with 1000, as the DOM does.
   */
  close(code?: number, reason = ''): void {
    if (code !== undefined && !isWebSocketCloseCode(code)) {
      throw new RangeError(`code: ${code} is not a close code that can be sent`);
    }
    if (utf8Encode(reason).length > MAX_WEBSOCKET_CLOSE_REASON_BYTES) {
      throw new RangeError(`reason: over ${MAX_WEBSOCKET_CLOSE_REASON_BYTES} bytes of UTF-8`);
    }
    if (this.#state !== 'open') return;
    this.#state = 'closing';
    const sent = code ?? (reason === '' ? WEBSOCKET_NO_STATUS : NORMAL_CLOSURE);
    this.#write(encodeWebSocketFrame({ type: 'close', code: sent, reason }), 0);
    this.#start();
  }

  /** Stops delivering messages; they wait in the tunnel, and the origin is slowed down. */
  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    if (this.#started) void this.#pump();
  }

  #write(frame: Uint8Array, counted: number): void {
    this.#buffered += counted;
    const taken = (): void => {
      this.#buffered -= counted;
    };
    // A failed write means the stream is gone; the reading side reports how it ended.
    this.#writer.write(frame).then(taken, taken);
  }

  #start(): void {
    if (this.#started || this.#ended !== undefined) return;
    this.#started = true;
    // After the caller's current task, so that listeners it adds next miss nothing either.
    queueMicrotask(() => void this.#pump());
  }

  async #pump(): Promise<void> {
    if (this.#reading) return;
    this.#reading = true;
    try {
      if (this.#rest !== null) {
        this.#queue.push(...this.#frames.push(this.#rest));
        this.#rest = null;
      }
      for (;;) {
        while (this.#queue.length > 0 && !this.#paused && this.#ended === undefined) {
          const frame = this.#queue.shift();
          if (frame !== undefined) this.#deliver(frame);
        }
        if (this.#ended !== undefined || this.#paused) return;
        const { done, value } = await this.#reader.read();
        if (done) {
          this.#frames.end();
          throw new MeshError('ERR_STREAM_CLOSED', 'the stream ended without a close frame');
        }
        this.#queue.push(...this.#frames.push(value));
      }
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      this.#finish({ code: ABNORMAL_CLOSURE, reason: '', wasClean: false, error });
    } finally {
      this.#reading = false;
    }
  }

  #deliver(frame: WebSocketFrame): void {
    if (frame.type === 'close') {
      this.#finish({ code: frame.code, reason: frame.reason, wasClean: true, error: undefined });
      return;
    }
    this.emit('message', frame.type === 'text' ? textDecoder.decode(frame.payload) : frame.payload);
  }

  #finish(close: TunnelWebSocketClose): void {
    if (this.#ended !== undefined) return;
    this.#ended = close;
    this.#state = 'closed';
    this.#queue.length = 0;
    if (close.wasClean) {
      // The egress ends the stream (CLOSE 0x02) right after its close frame: read up to it.
      void this.#drain();
    } else {
      void this.#reader.cancel().catch(() => undefined);
    }
    this.#resolveClosed(close);
    this.emit('close', close);
  }

  async #drain(): Promise<void> {
    try {
      for (;;) {
        const { done } = await this.#reader.read();
        if (done) return;
      }
    } catch {
      // The stream is gone either way.
    }
  }
}
