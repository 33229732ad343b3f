/**
 * Bandwidth limit for a volunteer: a token bucket of `rate` bytes per second
 * with one second of burst. A rate of 0 means unlimited.
 */
export class TokenBucket {
  #rate: number;
  #tokens: number;
  #updated: number;
  readonly #now: () => number;

  constructor(rate: number, now: () => number = () => performance.now()) {
    this.#now = now;
    this.#rate = checkRate(rate);
    this.#tokens = this.#rate;
    this.#updated = now();
  }

  get rate(): number {
    return this.#rate;
  }

  set rate(rate: number) {
    this.#refill();
    this.#rate = checkRate(rate);
    this.#tokens = Math.min(this.#tokens, this.#rate);
  }

  /**
   * Takes `bytes` tokens if it can; otherwise takes none and returns how many
   * milliseconds to wait before they will be there.
   */
  take(bytes: number): number {
    if (!(bytes >= 0 && bytes <= Number.MAX_SAFE_INTEGER)) {
      throw new RangeError(`take: expected a byte count, got ${bytes}`);
    }
    if (this.#rate === 0) return 0;
    this.#refill();
    // A message larger than the burst still goes through once the bucket is full.
    const need = Math.min(bytes, this.#rate);
    if (this.#tokens >= need) {
      this.#tokens -= need;
      return 0;
    }
    return Math.ceil(((need - this.#tokens) / this.#rate) * 1000);
  }

  #refill(): void {
    const now = this.#now();
    this.#tokens = Math.min(this.#rate, this.#tokens + ((now - this.#updated) / 1000) * this.#rate);
    this.#updated = now;
  }
}

function checkRate(rate: number): number {
  if (!Number.isFinite(rate) || rate < 0) {
    throw new RangeError(`rate: expected bytes per second ≥ 0, got ${rate}`);
  }
  return rate;
}
