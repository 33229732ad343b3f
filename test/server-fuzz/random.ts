/**
 * Seeded choices for the input generators, on top of the protocol fuzz tests' PRNG. Each input
 * is generated from its own seed (`inputSeed`), so one input can be rebuilt and replayed alone.
 */
import { prng, randomInt } from '../../protocol/test/fuzz-helpers.ts';

export type Rand = () => number;

export { pick, randomBytes, randomInt, mutate } from '../../protocol/test/fuzz-helpers.ts';

/** The seed of input `index` of a run with `seed` (a 32-bit mix, so neighbours differ). */
export function inputSeed(seed: number, index: number): number {
  let h = Math.imul(seed ^ 0x85ebca6b, 0xc2b2ae35) ^ Math.imul(index + 1, 0x27d4eb2f);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  h = Math.imul(h ^ (h >>> 12), 0x297a2d39);
  return (h ^ (h >>> 15)) >>> 0;
}

export function randFor(seed: number, index: number): Rand {
  return prng(inputSeed(seed, index));
}

export function chance(rand: Rand, probability: number): boolean {
  return rand() < probability;
}

/** One of `choices`, each as likely as its weight. */
export function weighted<T>(rand: Rand, choices: readonly (readonly [number, T])[]): T {
  const total = choices.reduce((sum, [weight]) => sum + weight, 0);
  let at = rand() * total;
  for (const [weight, value] of choices) {
    at -= weight;
    if (at < 0) return value;
  }
  const last = choices.at(-1);
  if (last === undefined) throw new Error('weighted: no choices');
  return last[1];
}

/** A 31-bit number for the pooled generators that take a seed (`textFor`). */
export function subSeed(rand: Rand): number {
  return randomInt(rand, 0x7fffffff);
}

/** One character (UTF-16 unit) of `alphabet`. */
export function pickChar(rand: Rand, alphabet: string): string {
  return alphabet.charAt(randomInt(rand, alphabet.length));
}

export function randomString(rand: Rand, alphabet: string, maxLength: number): string {
  const length = randomInt(rand, maxLength + 1);
  let out = '';
  for (let i = 0; i < length; i++) out += pickChar(rand, alphabet);
  return out;
}
