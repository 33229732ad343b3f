import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../rate-limit.ts';

describe('RateLimiter', () => {
  it('allows a burst, then refills at the given rate, per key', () => {
    const limiter = new RateLimiter({ burst: 2, perSecond: 1 });
    expect(limiter.take('a', 0)).toBe(true);
    expect(limiter.take('a', 0)).toBe(true);
    expect(limiter.take('a', 0)).toBe(false);
    expect(limiter.take('b', 0)).toBe(true);
    expect(limiter.take('a', 999)).toBe(false);
    expect(limiter.take('a', 2000)).toBe(true);
  });

  it('keeps a bounded table', () => {
    const limiter = new RateLimiter({ burst: 1, perSecond: 1 }, 3);
    for (let i = 0; i < 10; i++) limiter.take(`k${i}`, 0);
    expect(limiter.size).toBe(3);
  });
});
