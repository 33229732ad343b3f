/**
 * Messages waiting for an offline destination. Bounded per destination (a stranger can target
 * any id), per sender address group (so one client cannot fill the queue and make everyone
 * else's messages expire at once) and in total bytes; kept in arrival order and delivered in that order on connect.
 * An entry is dropped when its destination stays offline past the expire timeout, and the
 * sender then hears one EXPIRE for that destination.
 *
 * This is the in-memory OfflineQueue (store.ts): each method changes the tables when called and
 * returns a settled promise, so every limit is checked and applied in one step.
 */
import type { SignalType } from '../protocol/peerjs-messages.ts';
import type { OfflineQueue, QueueStats } from './store.ts';

export interface QueuedMessage {
  readonly type: SignalType;
  readonly src: string;
  /** The sender's address group, which its share is counted in. */
  readonly group: string;
  readonly dst: string;
  /** The serialized relayed message, sent as is. */
  readonly text: string;
  readonly bytes: number;
  readonly at: number;
}

export type EnqueueResult = 'queued' | 'destination-full' | 'sender-full' | 'total-full';

export interface ExpiredPair {
  /** The sender, who gets the EXPIRE. */
  readonly src: string;
  /** The destination that never came online. */
  readonly dst: string;
}

export class MessageQueue implements OfflineQueue {
  readonly #perDestination: number;
  readonly #maxBytes: number;
  readonly #maxBytesPerSender: number;
  readonly #queues = new Map<string, QueuedMessage[]>();
  readonly #senderBytes = new Map<string, number>();
  #messages = 0;
  #bytes = 0;

  constructor(perDestination: number, maxBytes: number, maxBytesPerSender = maxBytes) {
    this.#perDestination = perDestination;
    this.#maxBytes = maxBytes;
    this.#maxBytesPerSender = maxBytesPerSender;
  }

  get messages(): number {
    return this.#messages;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get destinations(): number {
    return this.#queues.size;
  }

  stats(): Promise<QueueStats> {
    return Promise.resolve({ messages: this.#messages, bytes: this.#bytes });
  }

  has(src: string, dst: string): Promise<boolean> {
    return Promise.resolve(this.#queues.get(dst)?.some((message) => message.src === src) ?? false);
  }

  push(message: QueuedMessage): Promise<EnqueueResult> {
    return Promise.resolve(this.#push(message));
  }

  #push(message: QueuedMessage): EnqueueResult {
    const queue = this.#queues.get(message.dst) ?? [];
    if (queue.length >= this.#perDestination) return 'destination-full';
    if (this.#bytes + message.bytes > this.#maxBytes) return 'total-full';
    const senderBytes = this.#senderBytes.get(message.group) ?? 0;
    if (senderBytes + message.bytes > this.#maxBytesPerSender) return 'sender-full';
    queue.push(message);
    this.#queues.set(message.dst, queue);
    this.#messages += 1;
    this.#bytes += message.bytes;
    this.#senderBytes.set(message.group, senderBytes + message.bytes);
    return 'queued';
  }

  /** Removes and returns everything waiting for `dst`, oldest first. */
  take(dst: string): Promise<QueuedMessage[]> {
    const queue = this.#queues.get(dst);
    if (queue === undefined) return Promise.resolve([]);
    this.#queues.delete(dst);
    this.#forget(queue);
    return Promise.resolve(queue);
  }

  /**
   * Drops what has waited since before `deadline`. When a sender's oldest message to a
   * destination expires, the rest of its messages there go too (candidates are useless without
   * their offer), so each sender gets one EXPIRE per destination.
   */
  expire(deadline: number): Promise<ExpiredPair[]> {
    const expired: ExpiredPair[] = [];
    for (const [dst, queue] of this.#queues) {
      const senders = new Set<string>();
      for (const message of queue) {
        if (message.at >= deadline) break;
        senders.add(message.src);
      }
      if (senders.size === 0) continue;
      const dropped = queue.filter((message) => senders.has(message.src));
      const kept = queue.filter((message) => !senders.has(message.src));
      this.#forget(dropped);
      if (kept.length === 0) this.#queues.delete(dst);
      else this.#queues.set(dst, kept);
      for (const src of senders) expired.push({ src, dst });
    }
    return Promise.resolve(expired);
  }

  /** Bytes queued by senders in `group`. */
  bytesFrom(group: string): Promise<number> {
    return Promise.resolve(this.#senderBytes.get(group) ?? 0);
  }

  clear(): Promise<void> {
    this.#queues.clear();
    this.#senderBytes.clear();
    this.#messages = 0;
    this.#bytes = 0;
    return Promise.resolve();
  }

  #forget(messages: readonly QueuedMessage[]): void {
    this.#messages -= messages.length;
    for (const message of messages) {
      this.#bytes -= message.bytes;
      const left = (this.#senderBytes.get(message.group) ?? 0) - message.bytes;
      if (left > 0) this.#senderBytes.set(message.group, left);
      else this.#senderBytes.delete(message.group);
    }
  }
}
