/**
 * The uplink bytes one connection holds across its streams: packets received from the client
 * and not yet handed to a destination's socket. Bounded, so large Wisp packets cannot make a
 * connection cost more than `EgressLimits.uplinkBufferBytes`, however many streams it has.
 */
export class UplinkBudget {
  readonly limit: number;
  #held = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  get held(): number {
    return this.#held;
  }

  /** Reserves `bytes`; false (nothing reserved) when they would take the connection over. */
  take(bytes: number): boolean {
    if (this.#held + bytes > this.limit) return false;
    this.#held += bytes;
    return true;
  }

  release(bytes: number): void {
    this.#held -= bytes;
  }
}
