/**
 * A volunteer's pipe for one consumer data channel: read the plaintext HELLO,
 * refuse any egress id not in the signaling server's list, open a WebSocket to
 * that egress's `tunnel/`, then copy every message 1:1 both ways without
 * looking inside (it is ciphertext). Buffers are bounded: the tunnel's Wisp
 * credits keep both sides within a window, and a side that lets its buffer
 * grow past the cap anyway is cut off. A relay that gives up before anything
 * came from the egress tells the consumer why with REFUSED.
 */
import type { EgressInfo } from '../protocol/matchmaking.ts';
import { decodeHello } from '../protocol/tunnel-hello.ts';
import { encodeRefused, type TunnelRefusalReason } from '../protocol/tunnel-refused.ts';
import type { TokenBucket } from './token-bucket.ts';

/** The parts of RTCDataChannel (browser or node-datachannel) the relay uses. */
export interface RelayChannel {
  binaryType: string;
  readonly bufferedAmount: number;
  bufferedAmountLowThreshold: number;
  send(data: Uint8Array<ArrayBuffer>): void;
  close(): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'close' | 'error' | 'bufferedamountlow', listener: () => void): void;
}

/** The parts of WebSocket (browser, or `ws` in Node) the relay uses. */
export interface RelaySocket {
  binaryType: string;
  readonly bufferedAmount: number;
  readonly readyState: number;
  send(data: Uint8Array<ArrayBuffer>): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'open' | 'close' | 'error', listener: () => void): void;
  /** `ws` in Node can stop reading; browsers cannot. */
  pause?: () => void;
  resume?: () => void;
}

export interface RelayOptions {
  readonly channel: RelayChannel;
  readonly egresses: readonly EgressInfo[];
  readonly openSocket: (url: string) => RelaySocket;
  readonly bucket: TokenBucket;
  readonly onBytes: (fromConsumer: number, toConsumer: number) => void;
  /** Bytes either side may have waiting before the relay gives up on it. */
  readonly maxBufferedBytes?: number;
  /** How long the consumer has to send HELLO. */
  readonly helloTimeoutMs?: number;
  /** Messages the channel delivered before the relay existed, oldest first. */
  readonly received?: readonly unknown[];
}

export type RelayEnd =
  'closed' | 'bad-hello' | 'unknown-egress' | 'hello-timeout' | 'egress-unreachable' | 'overflow';

/** The ends that refuse a tunnel before the egress said anything, and what REFUSED says. */
const REFUSAL_BY_END: Partial<Record<RelayEnd, TunnelRefusalReason>> = {
  'bad-hello': 'bad-hello',
  'hello-timeout': 'bad-hello',
  'unknown-egress': 'unknown-egress',
  'egress-unreachable': 'egress-unreachable',
};

// Credits bound what a tunnel may have in flight (a window per stream), but a browser cannot
// pause its WebSocket, so the cap must hold many streams' windows at once (20 parallel
// downloads at 1 MiB each overflowed an 8 MiB cap in Chromium).
const DEFAULT_MAX_BUFFERED = 32 * 1024 * 1024;
/** Above this much in the data channel's buffer, a Node relay stops reading the WebSocket. */
const PAUSE_BYTES = 1024 * 1024;
const OPEN = 1;

interface Direction {
  readonly queue: Uint8Array<ArrayBuffer>[];
  queued: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

export class Relay {
  /**
   * Resolves once both sides are closed, with why; after a refusal (`refusal` set), once the
   * egress side is closed and REFUSED is sent, leaving the channel to the owner.
   */
  readonly ended: Promise<RelayEnd>;
  /** The egress the consumer asked for, once HELLO has been read. */
  egressId: string | undefined;
  /**
   * Set when the relay refused the tunnel and told the consumer with REFUSED; the owner then
   * closes the channel, once the consumer has had a moment to read it.
   */
  refusal: TunnelRefusalReason | undefined;
  readonly #options: RelayOptions;
  readonly #maxBuffered: number;
  #socket: RelaySocket | undefined;
  /** True once anything came from the egress: from then on only its messages go to the consumer. */
  #egressSpoke = false;
  /** Whether the egress socket is paused (see #steer). */
  #paused = false;
  #end: RelayEnd | undefined;
  #resolveEnded!: (end: RelayEnd) => void;
  readonly #up: Direction = { queue: [], queued: 0, timer: undefined };
  readonly #down: Direction = { queue: [], queued: 0, timer: undefined };
  readonly #helloTimer: ReturnType<typeof setTimeout>;

  constructor(options: RelayOptions) {
    this.#options = options;
    this.#maxBuffered = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED;
    this.ended = new Promise((resolve) => (this.#resolveEnded = resolve));
    const { channel } = options;
    channel.binaryType = 'arraybuffer';
    channel.bufferedAmountLowThreshold = PAUSE_BYTES / 2;
    channel.addEventListener('message', (event) => this.#fromConsumer(event.data));
    channel.addEventListener('close', () => this.close('closed'));
    channel.addEventListener('error', () => this.close('closed'));
    channel.addEventListener('bufferedamountlow', () => this.#pump(this.#down));
    this.#helloTimer = setTimeout(
      () => this.close('hello-timeout'),
      options.helloTimeoutMs ?? 10_000,
    );
    for (const data of options.received ?? []) this.#fromConsumer(data);
  }

  close(end: RelayEnd = 'closed'): void {
    if (this.#end !== undefined) return;
    this.#end = end;
    clearTimeout(this.#helloTimer);
    for (const direction of [this.#up, this.#down]) {
      clearTimeout(direction.timer);
      direction.queue.length = 0;
      direction.queued = 0;
    }
    const refusal = this.#egressSpoke ? undefined : REFUSAL_BY_END[end];
    if (refusal !== undefined) {
      this.refusal = refusal;
      try {
        this.#options.channel.send(encodeRefused(refusal));
      } catch {
        // The channel is already gone; there is nobody to tell.
      }
    }
    // After a REFUSED the channel stays open for the consumer to read it and close: closing
    // right after sending lost the message now and then (node-datachannel on both sides;
    // PeerJS drops what arrives after it saw the close). The owner closes it a bit later.
    if (this.refusal === undefined) {
      try {
        this.#options.channel.close();
      } catch {
        // Already closed.
      }
    }
    try {
      // A paused `ws` reads nothing, not even the egress's answer to our close: it would
      // hold the socket (and one of the egress's per-address slots) until its 30 s timeout.
      this.#socket?.resume?.();
      this.#socket?.close(1000);
    } catch {
      // Already closed.
    }
    this.#resolveEnded(end);
  }

  #fromConsumer(data: unknown): void {
    if (this.#end !== undefined) return;
    const message = bytesOf(data);
    if (message === undefined) return this.close('bad-hello');
    if (this.#socket === undefined) return this.#hello(message);
    this.#enqueue(this.#up, message);
  }

  #hello(message: Uint8Array): void {
    let egressId: string;
    try {
      egressId = decodeHello(message).egressId;
    } catch {
      return this.close('bad-hello');
    }
    const egress = this.#options.egresses.find((e) => e.id === egressId);
    if (egress === undefined) return this.close('unknown-egress');
    clearTimeout(this.#helloTimer);
    this.egressId = egressId;
    let socket: RelaySocket;
    try {
      socket = this.#options.openSocket(new URL('tunnel/', egress.url).href);
    } catch {
      return this.close('egress-unreachable');
    }
    this.#socket = socket;
    socket.binaryType = 'arraybuffer';
    let opened = false;
    socket.addEventListener('open', () => {
      opened = true;
      this.#pump(this.#up);
    });
    socket.addEventListener('message', (event) => {
      this.#egressSpoke = true;
      const bytes = bytesOf(event.data);
      if (bytes !== undefined) this.#enqueue(this.#down, bytes);
    });
    socket.addEventListener('close', () => this.close(opened ? 'closed' : 'egress-unreachable'));
    socket.addEventListener('error', () => this.close(opened ? 'closed' : 'egress-unreachable'));
  }

  #enqueue(direction: Direction, message: Uint8Array<ArrayBuffer>): void {
    direction.queue.push(message);
    direction.queued += message.length;
    this.#pump(direction);
  }

  /** Sends what the rate limit and the target's buffer allow; schedules the rest. */
  #pump(direction: Direction): void {
    if (this.#end !== undefined || direction.timer !== undefined) return;
    const toConsumer = direction === this.#down;
    const socket = this.#socket;
    if (!toConsumer && (socket === undefined || socket.readyState !== OPEN)) {
      this.#checkOverflow(direction, 0);
      return;
    }
    const target = toConsumer ? this.#options.channel : socket;
    if (target === undefined) return;
    for (;;) {
      const message = direction.queue[0];
      if (message === undefined) break;
      const wait = this.#options.bucket.take(message.length);
      if (wait > 0) {
        direction.timer = setTimeout(() => {
          direction.timer = undefined;
          this.#pump(direction);
        }, wait);
        break;
      }
      direction.queue.shift();
      direction.queued -= message.length;
      try {
        target.send(message);
      } catch {
        return this.close('closed');
      }
      if (toConsumer) this.#options.onBytes(0, message.length);
      else this.#options.onBytes(message.length, 0);
    }
    if (toConsumer) this.#steer(direction.queued + target.bufferedAmount);
    this.#checkOverflow(direction, target.bufferedAmount);
  }

  /**
   * Stops reading the egress (a `ws` socket can; a browser's cannot) while more than
   * PAUSE_BYTES wait for the consumer, in the channel's buffer or behind the rate limit, and
   * reads again once that is down to half: a download faster than the volunteer's limit is
   * slowed, not cut off with `overflow`.
   */
  #steer(waiting: number): void {
    if (waiting > PAUSE_BYTES && !this.#paused) {
      this.#paused = true;
      this.#socket?.pause?.();
    } else if (waiting <= PAUSE_BYTES / 2 && this.#paused) {
      this.#paused = false;
      this.#socket?.resume?.();
    }
  }

  #checkOverflow(direction: Direction, buffered: number): void {
    if (direction.queued + buffered > this.#maxBuffered) this.close('overflow');
  }
}

function bytesOf(data: unknown): Uint8Array<ArrayBuffer> | undefined {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) {
    // binaryType is 'arraybuffer', so views are rare; copy rather than alias foreign memory.
    const copy = new Uint8Array(data.byteLength);
    copy.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    return copy;
  }
  return undefined;
}
