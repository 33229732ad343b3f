/**
 * Deterministic pseudo-random bytes (xorshift32), so a byte-exact check catches reordering.
 * No imports: the Chromium interop page bundles it too.
 */
export function patternBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
