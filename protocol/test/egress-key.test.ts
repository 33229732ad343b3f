import { describe, expect, it } from 'vitest';
import { bytesToBase64url } from '../bytes.ts';
import { SchemaError } from '../errors.ts';
import { createEgressKey, encodeEgressKeyFile, parseEgressKeyFile } from '../egress-key.ts';
import { keyPairFromSecret } from '../noise/crypto-suite.ts';
import { fuzz, FUZZ_RUNS, mutate, randomBytes } from './fuzz-helpers.ts';

function schemaError(fn: () => unknown): SchemaError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SchemaError) return err;
    throw err;
  }
  throw new Error('expected a SchemaError');
}

const key = keyPairFromSecret(new Uint8Array(32).fill(7));
const file = encodeEgressKeyFile(key);

describe('egress key file', () => {
  it('round-trips and names its format', () => {
    expect(parseEgressKeyFile(file)).toEqual(key);
    expect(JSON.parse(file)).toMatchObject({ type: 'bu-egress-key', version: 1 });
    const fresh = createEgressKey();
    expect(parseEgressKeyFile(encodeEgressKeyFile(fresh))).toEqual(fresh);
  });

  it('refuses a public key that does not belong to the private key', () => {
    const other = createEgressKey();
    const forged = JSON.stringify({
      ...(JSON.parse(file) as object),
      publicKey: bytesToBase64url(other.publicKey),
    });
    const err = schemaError(() => parseEgressKeyFile(forged));
    expect(err.code).toBe('ERR_SCHEMA_INVALID');
    expect(err.path).toBe('publicKey');
  });

  it('refuses other files with a code and the field', () => {
    expect(schemaError(() => parseEgressKeyFile('not json')).code).toBe('ERR_SCHEMA_JSON');
    expect(schemaError(() => parseEgressKeyFile('[]')).code).toBe('ERR_SCHEMA_INVALID');
    expect(schemaError(() => parseEgressKeyFile(' '.repeat(5000))).code).toBe(
      'ERR_SCHEMA_TOO_LARGE',
    );
    const wrongVersion = file.replace('"version": 1', '"version": 2');
    expect(schemaError(() => parseEgressKeyFile(wrongVersion)).path).toBe('type');
    const shortKey = file.replace(/"privateKey": "[^"]+"/, '"privateKey": "AAAA"');
    expect(schemaError(() => parseEgressKeyFile(shortKey)).path).toBe('privateKey');
  });

  it(`throws nothing but SchemaError for ${FUZZ_RUNS} mutated and random files`, () => {
    const valid = new TextEncoder().encode(file);
    const result = fuzz({
      seed: 0x6e7,
      runs: FUZZ_RUNS,
      input: (rand, run) => (run % 4 === 0 ? randomBytes(rand, 200) : mutate(rand, valid)),
      decode: (input) => {
        return parseEgressKeyFile(new TextDecoder().decode(input));
      },
      allowed: (err) => err instanceof SchemaError,
    });
    expect(result.rejected).toBeGreaterThan(FUZZ_RUNS / 2);
  });
});
