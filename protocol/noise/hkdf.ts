/** HKDF exactly as the Noise spec (§4.3) defines it, built from the suite's HMAC. */
import type { NoiseHash } from './crypto-suite.ts';

const ONE = Uint8Array.of(0x01);
const TWO = Uint8Array.of(0x02);
const THREE = Uint8Array.of(0x03);

export function hkdf(
  hash: NoiseHash,
  chainingKey: Uint8Array,
  inputKeyMaterial: Uint8Array,
  numOutputs: 2,
): [Uint8Array, Uint8Array];
export function hkdf(
  hash: NoiseHash,
  chainingKey: Uint8Array,
  inputKeyMaterial: Uint8Array,
  numOutputs: 3,
): [Uint8Array, Uint8Array, Uint8Array];
export function hkdf(
  hash: NoiseHash,
  chainingKey: Uint8Array,
  inputKeyMaterial: Uint8Array,
  numOutputs: 2 | 3,
): Uint8Array[] {
  const tempKey = hash.hmac(chainingKey, inputKeyMaterial);
  const output1 = hash.hmac(tempKey, ONE);
  const output2 = hash.hmac(tempKey, output1, TWO);
  if (numOutputs === 2) return [output1, output2];
  return [output1, output2, hash.hmac(tempKey, output2, THREE)];
}
