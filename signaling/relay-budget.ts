/**
 * What one PeerJS id may still send to be relayed: two token buckets, messages and characters,
 * each holding `RELAY_BURST_SECONDS` worth. A sender that floods a slow peer would otherwise fill that
 * peer's socket until the server has to drop it, costing an innocent client its id.
 */
import { RELAY_BURST_SECONDS as BURST_SECONDS, type RelayRate } from './config.ts';

export class RelayBudget {
  #messages: number;
  #chars: number;
  #at: number;
  /** Set once the sender has been told it is over; cleared when a message passes again. */
  warned = false;

  constructor(rate: RelayRate, now: number) {
    this.#messages = rate.messagesPerSecond * BURST_SECONDS;
    this.#chars = rate.bytesPerSecond * BURST_SECONDS;
    this.#at = now;
  }

  /**
   * Takes one message of `chars` characters (a lower bound of its bytes, and what a sender
   * controls); false, taking nothing, when either bucket is short.
   */
  take(rate: RelayRate, chars: number, now: number): boolean {
    const seconds = Math.max(0, now - this.#at) / 1000;
    this.#at = now;
    this.#messages = Math.min(
      rate.messagesPerSecond * BURST_SECONDS,
      this.#messages + seconds * rate.messagesPerSecond,
    );
    this.#chars = Math.min(
      rate.bytesPerSecond * BURST_SECONDS,
      this.#chars + seconds * rate.bytesPerSecond,
    );
    if (this.#messages < 1 || this.#chars < chars) return false;
    this.#messages -= 1;
    this.#chars -= chars;
    return true;
  }
}
