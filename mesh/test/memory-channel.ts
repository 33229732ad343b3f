/**
 * An in-memory data channel for relay tests: the relay holds the `RelayChannel` side, the test
 * (or a TunnelClient) the consumer side. Deliveries are asynchronous, as on a real
 * RTCDataChannel, and in order. `stall()` makes the relay's sends wait in a buffer that
 * `bufferedAmount` counts, as when the peer reads slowly; `drain()` delivers them and fires
 * `bufferedamountlow`.
 */
import type { RelayChannel } from '../relay.ts';

type MessageListener = (event: { data: unknown }) => void;
type EventName = 'message' | 'close' | 'error' | 'bufferedamountlow';

export class MemoryChannel implements RelayChannel {
  binaryType = 'blob';
  bufferedAmountLowThreshold = 0;
  /** Every message the relay sent, in order, copied at the time of sending. */
  readonly sent: Uint8Array[] = [];
  /** How many times the relay called `close()`. */
  closeCalls = 0;
  /** The consumer side: each message the relay sent, once delivered. */
  onConsumerMessage: (message: Uint8Array) => void = () => undefined;
  /** The consumer side: the channel closed (by either end). */
  onConsumerClose: () => void = () => undefined;
  #closed = false;
  #stalled = false;
  readonly #held: Uint8Array[] = [];
  #buffered = 0;
  /** A `() => void` listener is a `MessageListener` that ignores its argument. */
  readonly #listeners = new Map<EventName, MessageListener[]>();

  get bufferedAmount(): number {
    return this.#buffered;
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(data: Uint8Array<ArrayBuffer>): void {
    if (this.#closed) throw new Error('InvalidStateError: the data channel is closed');
    const copy = data.slice();
    this.sent.push(copy);
    if (this.#stalled) {
      this.#held.push(copy);
      this.#buffered += copy.length;
      return;
    }
    queueMicrotask(() => this.onConsumerMessage(copy));
  }

  close(): void {
    this.closeCalls++;
    this.#shut();
  }

  addEventListener(type: 'message', listener: MessageListener): void;
  addEventListener(type: 'close' | 'error' | 'bufferedamountlow', listener: () => void): void;
  addEventListener(type: EventName, listener: MessageListener | (() => void)): void {
    const list = this.#listeners.get(type) ?? [];
    list.push(listener);
    this.#listeners.set(type, list);
  }

  /** The consumer sends `data` (anything, to test what the relay makes of it). */
  consumerSend(data: unknown): void {
    if (this.#closed) throw new Error('InvalidStateError: the data channel is closed');
    queueMicrotask(() => this.#emit('message', { data }));
  }

  /** The consumer closes its end. */
  consumerClose(): void {
    this.#shut();
  }

  /** From now on the relay's sends wait in the buffer until `drain()`. */
  stall(): void {
    this.#stalled = true;
  }

  /** Delivers everything held, in order, and fires `bufferedamountlow` if it was above the threshold. */
  drain(): void {
    this.#stalled = false;
    const crossed = this.#buffered > this.bufferedAmountLowThreshold;
    for (const message of this.#held.splice(0)) {
      queueMicrotask(() => this.onConsumerMessage(message));
    }
    this.#buffered = 0;
    if (crossed) queueMicrotask(() => this.#emit('bufferedamountlow'));
  }

  #shut(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#held.length = 0;
    this.#buffered = 0;
    queueMicrotask(() => {
      this.onConsumerClose();
      this.#emit('close');
    });
  }

  #emit(type: EventName, event: { data: unknown } = { data: undefined }): void {
    for (const listener of this.#listeners.get(type) ?? []) listener(event);
  }
}
