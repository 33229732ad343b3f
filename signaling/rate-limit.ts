/**
 * Token buckets keyed by client address. The table is bounded: when it is full the entry that
 * was touched longest ago goes, which at worst gives that address a fresh allowance.
 */
import type { RateLimit } from './config.ts';

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  readonly #burst: number;
  readonly #perMs: number;
  readonly #maxKeys: number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(limit: RateLimit, maxKeys = 100_000) {
    this.#burst = limit.burst;
    this.#perMs = limit.perSecond / 1000;
    this.#maxKeys = maxKeys;
  }

  /** Takes one token for `key`; false when its allowance is used up. */
  take(key: string, now: number): boolean {
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      bucket = { tokens: this.#burst, at: now };
    } else {
      // Re-inserted below, so Map order stays least-recently-used first.
      this.#buckets.delete(key);
      bucket.tokens = Math.min(this.#burst, bucket.tokens + (now - bucket.at) * this.#perMs);
      bucket.at = now;
    }
    this.#buckets.set(key, bucket);
    if (this.#buckets.size > this.#maxKeys) {
      const oldest = this.#buckets.keys().next();
      if (oldest.done !== true) this.#buckets.delete(oldest.value);
    }
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  get size(): number {
    return this.#buckets.size;
  }
}
