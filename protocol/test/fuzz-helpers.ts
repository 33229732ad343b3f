/**
 * Shared machinery for the decoder fuzz tests: a seeded PRNG, random inputs
 * and mutations of valid encodings, and a runner that allows only our typed
 * errors. A failure prints the seed and the input, so it can be replayed.
 */
import { bytesToHex } from '../bytes.ts';

/** Inputs per decoder fuzz test in CI; `BU_FUZZ_RUNS` sets another count (`npm run test:fast`). */
export const DEFAULT_FUZZ_RUNS = 100_000;

function fuzzRunsFromEnv(): number {
  const text = process.env['BU_FUZZ_RUNS'];
  if (text === undefined || text === '') return DEFAULT_FUZZ_RUNS;
  const runs = Number(text);
  if (!Number.isSafeInteger(runs) || runs < 1) {
    throw new RangeError(`BU_FUZZ_RUNS: expected a positive integer, got ${JSON.stringify(text)}`);
  }
  return runs;
}

/** Inputs per decoder fuzz test: `BU_FUZZ_RUNS`, else DEFAULT_FUZZ_RUNS. */
export const FUZZ_RUNS = fuzzRunsFromEnv();

/** `count` scaled by FUZZ_RUNS / DEFAULT_FUZZ_RUNS (at least 1), for a fuzz test's other counts. */
export function scaledRuns(count: number): number {
  return Math.max(1, Math.round((count * FUZZ_RUNS) / DEFAULT_FUZZ_RUNS));
}

/** mulberry32: small, fast, good enough to drive a fuzzer reproducibly. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomInt(rand: () => number, below: number): number {
  return Math.floor(rand() * below);
}

/** A random element of a non-empty list. */
export function pick<T>(rand: () => number, items: readonly T[]): T {
  const item = items[randomInt(rand, items.length)];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
}

/**
 * Runs `run` with stack capture off: most fuzz inputs throw, capturing a stack
 * costs microseconds per throw, and a failure is reported by seed and input.
 */
export function withoutStacks<T>(run: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return run();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

export function randomBytes(rand: () => number, maxLength: number): Uint8Array {
  const out = new Uint8Array(randomInt(rand, maxLength + 1));
  for (let i = 0; i < out.length; i++) out[i] = randomInt(rand, 256);
  return out;
}

/** One to four random edits: bit flips, byte changes, truncation, extension, splices. */
export function mutate(rand: () => number, input: Uint8Array): Uint8Array {
  let out = input.slice();
  const edits = 1 + randomInt(rand, 4);
  for (let e = 0; e < edits; e++) {
    const at = randomInt(rand, Math.max(out.length, 1));
    switch (randomInt(rand, 6)) {
      case 0:
        if (out.length > 0) out[at] = (out[at] ?? 0) ^ (1 << randomInt(rand, 8));
        break;
      case 1:
        if (out.length > 0) out[at] = randomInt(rand, 256);
        break;
      case 2:
        out = out.slice(0, at);
        break;
      case 3: {
        const extra = randomBytes(rand, 32);
        const grown = new Uint8Array(out.length + extra.length);
        grown.set(out);
        grown.set(extra, out.length);
        out = grown;
        break;
      }
      case 4:
        if (out.length > 0) out[at] = [0x00, 0x01, 0x7f, 0x80, 0xff][randomInt(rand, 5)] ?? 0;
        break;
      default: {
        const cut = out.slice(at, at + 1 + randomInt(rand, 8));
        const spliced = new Uint8Array(out.length + cut.length);
        spliced.set(out.subarray(0, at));
        spliced.set(cut, at);
        spliced.set(out.subarray(at), at + cut.length);
        out = spliced;
      }
    }
  }
  return out;
}

export interface FuzzResult {
  readonly runs: number;
  readonly accepted: number;
  readonly rejected: number;
}

/**
 * Feeds `runs` inputs to `decode`. Only errors for which `allowed` is true may
 * escape; anything else throws, naming the seed, the run and the input.
 */
export interface FuzzOptions {
  readonly seed: number;
  readonly runs: number;
  readonly input: (rand: () => number, run: number) => Uint8Array;
  readonly decode: (input: Uint8Array) => unknown;
  readonly allowed: (err: unknown) => boolean;
}

export function fuzz(options: FuzzOptions): FuzzResult {
  return withoutStacks(() => fuzzLoop(options));
}

function fuzzLoop(options: FuzzOptions): FuzzResult {
  const rand = prng(options.seed);
  let accepted = 0;
  let rejected = 0;
  for (let run = 0; run < options.runs; run++) {
    const input = options.input(rand, run);
    try {
      options.decode(input);
      accepted++;
    } catch (err) {
      if (!options.allowed(err)) {
        const what = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
        throw new Error(
          `fuzz seed ${options.seed}, run ${run}: ${what}\ninput: ${bytesToHex(input.subarray(0, 512))}`,
        );
      }
      rejected++;
    }
  }
  return { runs: options.runs, accepted, rejected };
}
