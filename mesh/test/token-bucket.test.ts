/**
 * The volunteer's bandwidth limit, on an injected clock: no test here waits for real time.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../token-bucket.ts';

/** A clock the test moves by hand, in milliseconds. */
function manualClock(start = 0): { now: () => number; advance: (ms: number) => void } {
  let time = start;
  return {
    now: () => time,
    advance: (ms) => {
      time += ms;
    },
  };
}

describe('TokenBucket', () => {
  it('rate 0 is unlimited: every take is granted, however large, without the clock moving', () => {
    const clock = manualClock();
    const bucket = new TokenBucket(0, clock.now);
    expect(bucket.rate).toBe(0);
    for (const bytes of [0, 1, 16_384, 1e9, Number.MAX_SAFE_INTEGER]) {
      expect(bucket.take(bytes)).toBe(0);
    }
  });

  it('starts full with one second of burst, then makes the next byte wait', () => {
    const clock = manualClock(5_000);
    const bucket = new TokenBucket(1000, clock.now);
    expect(bucket.take(400)).toBe(0);
    expect(bucket.take(600)).toBe(0);
    // Empty: one byte needs 1 ms at 1000 B/s.
    expect(bucket.take(1)).toBe(1);
    // A refused take takes nothing: the same answer again.
    expect(bucket.take(1)).toBe(1);
  });

  it('never holds more than one second of tokens, however long it was idle', () => {
    const clock = manualClock();
    const bucket = new TokenBucket(1000, clock.now);
    clock.advance(3_600_000);
    expect(bucket.take(1000)).toBe(0);
    expect(bucket.take(1)).toBeGreaterThan(0);
  });

  it('computes the wait from the deficit and the rate, rounded up to whole milliseconds', () => {
    const clock = manualClock();
    const bucket = new TokenBucket(1000, clock.now);
    expect(bucket.take(1000)).toBe(0);
    expect(bucket.take(250)).toBe(250);
    clock.advance(100);
    // 100 tokens back; 150 missing = 150 ms.
    expect(bucket.take(250)).toBe(150);
    clock.advance(149);
    // 249 tokens: one short, which at 1 byte/ms is 1 ms.
    expect(bucket.take(250)).toBe(1);
    clock.advance(1);
    expect(bucket.take(250)).toBe(0);
    // A fraction of a millisecond rounds up: 1 byte at 3000 B/s is 1/3 ms.
    const fast = new TokenBucket(3000, clock.now);
    expect(fast.take(3000)).toBe(0);
    expect(fast.take(1)).toBe(1);
  });

  it('lets a message larger than the burst through once the bucket is full', () => {
    const clock = manualClock();
    const bucket = new TokenBucket(1000, clock.now);
    // Full: a 5000-byte message goes at once and empties it.
    expect(bucket.take(5000)).toBe(0);
    expect(bucket.take(1)).toBe(1);
    // Half full: the big message waits for a full bucket (500 ms), not for 5 s.
    clock.advance(500);
    expect(bucket.take(5000)).toBe(500);
    clock.advance(499);
    expect(bucket.take(5000)).toBe(1);
    clock.advance(1);
    expect(bucket.take(5000)).toBe(0);
  });

  it('lowering the rate at run time caps the tokens at the new burst', () => {
    const clock = manualClock();
    const bucket = new TokenBucket(10_000, clock.now);
    bucket.rate = 1000;
    expect(bucket.rate).toBe(1000);
    expect(bucket.take(1000)).toBe(0);
    expect(bucket.take(1)).toBe(1);
  });

  it('raising the rate at run time does not hand out the new burst at once', () => {
    const clock = manualClock();
    const bucket = new TokenBucket(1000, clock.now);
    expect(bucket.take(1000)).toBe(0);
    bucket.rate = 10_000;
    // Empty before the change, still empty after it; refilling now goes ten times faster.
    expect(bucket.take(1000)).toBe(100);
    clock.advance(100);
    expect(bucket.take(1000)).toBe(0);
    clock.advance(5_000);
    expect(bucket.take(10_000)).toBe(0);
    expect(bucket.take(1)).toBe(1);
  });

  it('refills at the old rate up to the moment the rate changes', () => {
    const clock = manualClock();
    const bucket = new TokenBucket(1000, clock.now);
    expect(bucket.take(1000)).toBe(0);
    clock.advance(300);
    bucket.rate = 2000;
    // 300 tokens from the 300 ms at 1000 B/s, not 600 at the new rate.
    expect(bucket.take(300)).toBe(0);
    expect(bucket.take(1)).toBe(1);
  });

  it('a rate of 0 at run time is unlimited, and a limit set after it starts empty', () => {
    const clock = manualClock();
    const bucket = new TokenBucket(1000, clock.now);
    expect(bucket.take(1000)).toBe(0);
    bucket.rate = 0;
    expect(bucket.take(1e9)).toBe(0);
    clock.advance(60_000);
    bucket.rate = 500;
    // Time spent unlimited earns nothing: the limited bucket starts empty.
    expect(bucket.take(500)).toBe(1000);
    clock.advance(1000);
    expect(bucket.take(500)).toBe(0);
    expect(bucket.take(1)).toBe(2);
  });

  it.each([-1, -0.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])(
    'rejects the rate %s with a RangeError naming it, at construction and at run time',
    (rate) => {
      expect(() => new TokenBucket(rate)).toThrow(RangeError);
      expect(() => new TokenBucket(rate)).toThrow(/^rate: /);
      const bucket = new TokenBucket(1000);
      expect(() => {
        bucket.rate = rate;
      }).toThrow(RangeError);
    },
  );

  it('keeps its rate after a rejected change', () => {
    const clock = manualClock();
    const bucket = new TokenBucket(1000, clock.now);
    expect(() => {
      bucket.rate = -5;
    }).toThrow(RangeError);
    expect(bucket.rate).toBe(1000);
    expect(bucket.take(1000)).toBe(0);
    expect(bucket.take(100)).toBe(100);
  });

  it('rejects a negative byte count instead of minting tokens past the burst', () => {
    // take(-n) once computed need = -n and added n tokens, so a caller's arithmetic slip would
    // let it through more than one second of burst. (The relay only passes message lengths.)
    const clock = manualClock();
    const bucket = new TokenBucket(1000, clock.now);
    expect(() => bucket.take(-1_000_000)).toThrow(RangeError);
    expect(bucket.take(1000)).toBe(0);
    expect(bucket.take(1)).toBeGreaterThan(0);
  });

  /** Clock steps and take sizes, as the relay's pump would produce them. */
  const schedule = (maxBytes: (rate: number) => number) =>
    fc.integer({ min: 1, max: 10_000_000 }).chain((rate) =>
      fc.record({
        rate: fc.constant(rate),
        steps: fc.array(
          fc.record({
            advanceMs: fc.oneof(
              fc.constant(0),
              fc.integer({ min: 0, max: 3_000 }),
              fc.double({ min: 0, max: 50, noNaN: true }),
            ),
            bytes: fc.integer({ min: 0, max: maxBytes(rate) }),
          }),
          { maxLength: 200 },
        ),
      }),
    );

  // Takes are at most one burst each here: a larger message is let through on a full bucket
  // by design (above), so it is charged `rate`, not its length.
  it('grants at most rate × (window + 1 s) bytes in any window (property)', () => {
    fc.assert(
      fc.property(
        schedule((rate) => rate),
        ({ rate, steps }) => {
          const clock = manualClock(1_000);
          const bucket = new TokenBucket(rate, clock.now);
          const grants: Array<{ at: number; bytes: number }> = [];
          for (const { advanceMs, bytes } of steps) {
            clock.advance(advanceMs);
            const wait = bucket.take(bytes);
            expect(wait).toBeGreaterThanOrEqual(0);
            expect(Number.isInteger(wait)).toBe(true);
            if (wait === 0) grants.push({ at: clock.now(), bytes });
          }
          for (let i = 0; i < grants.length; i++) {
            let sum = 0;
            for (let j = i; j < grants.length; j++) {
              const last = grants[j];
              const first = grants[i];
              if (last === undefined || first === undefined) throw new Error('unreachable');
              sum += last.bytes;
              const window = (last.at - first.at) / 1000;
              // A billionth of the allowance for floating-point refills.
              const allowance = rate * (window + 1);
              expect(sum).toBeLessThanOrEqual(allowance * (1 + 1e-9));
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a refused take is granted once the clock has moved by the wait it returned, ±1 ms of rounding (property)', () => {
    fc.assert(
      fc.property(
        schedule((rate) => 4 * rate),
        ({ rate, steps }) => {
          const clock = manualClock(1_000);
          const bucket = new TokenBucket(rate, clock.now);
          for (const { advanceMs, bytes } of steps) {
            clock.advance(advanceMs);
            const wait = bucket.take(bytes);
            if (wait === 0) continue;
            // Never longer than refilling a whole second of burst takes.
            expect(wait).toBeLessThanOrEqual(1000);
            clock.advance(wait);
            // The refill is floating point: a + (w / 1000) × rate can land a hair under the
            // need, and the bucket asks for one more millisecond (never more, never 0).
            const again = bucket.take(bytes);
            expect([0, 1]).toContain(again);
            if (again === 0) continue;
            clock.advance(again);
            expect(bucket.take(bytes)).toBe(0);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
