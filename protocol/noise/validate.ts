/**
 * Argument checks shared by the Noise modules. TypeScript already rejects these
 * mistakes at compile time; the checks are for JavaScript callers and for data
 * that crossed a message port, where a wrong type would otherwise surface as an
 * obscure error from deep inside a primitive.
 */
import { NoiseError } from '../errors.ts';

export function assertBytes(name: string, value: unknown): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new TypeError(`${name}: expected a Uint8Array, got ${typeof value}`);
  }
}

/** Keys have one valid length; a wrong one is a key error rather than a generic `RangeError`. */
export function assertKey(
  name: string,
  value: unknown,
  length: number,
): asserts value is Uint8Array {
  assertBytes(name, value);
  if (value.length !== length) {
    throw new NoiseError('ERR_NOISE_KEY', `${name}: expected ${length} bytes, got ${value.length}`);
  }
}
