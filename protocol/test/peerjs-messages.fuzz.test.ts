/**
 * Fuzzes the PeerJS message parsers: 100,000 seeded inputs, each fed to both parsers (random
 * text, random JSON, valid messages with fields dropped, retyped, oversized or nested too
 * deep, damaged text). The only exception allowed is SchemaError, and whatever is accepted
 * must parse again to the same value after a JSON round trip.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SchemaError } from '../errors.ts';
import { parseClientMessage, parseServerMessage } from '../peerjs-messages.ts';
import { FUZZ_RUNS } from './fuzz-helpers.ts';
import { parsesOrSchemaError, samplePools, textFor } from './fuzz-inputs.ts';
import { clientMessageArb, serverMessageArb } from './signaling-arbitraries.ts';

const SEED = 0x5eed;
const RUNS = FUZZ_RUNS;

const parsers = [
  ['parseClientMessage', parseClientMessage],
  ['parseServerMessage', parseServerMessage],
] as const;

describe('fuzz', () => {
  // Capturing a stack for each of ~200,000 rejections would be most of the run time.
  const stackTraceLimit = Error.stackTraceLimit;
  beforeAll(() => {
    Error.stackTraceLimit = 0;
  });
  afterAll(() => {
    Error.stackTraceLimit = stackTraceLimit;
  });

  it(`parseClientMessage and parseServerMessage throw nothing but SchemaError (${RUNS} inputs each)`, () => {
    const pools = samplePools([clientMessageArb, serverMessageArb], SEED);
    const accepted = new Map<string, number>();
    const rejected = new Map<string, number>();
    fc.assert(
      fc.property(fc.nat(), (seed) => {
        const text = textFor(pools, seed);
        for (const [name, parse] of parsers) {
          const result = parsesOrSchemaError(() => parse(text));
          if (result instanceof SchemaError) {
            rejected.set(result.code, (rejected.get(result.code) ?? 0) + 1);
            continue;
          }
          accepted.set(name, (accepted.get(name) ?? 0) + 1);
          const again = JSON.stringify(parse(JSON.stringify(result)));
          if (again !== JSON.stringify(result)) throw new Error(`${name}: round trip changed`);
        }
      }),
      { seed: SEED, numRuns: RUNS },
    );
    // The mix must get past the first checks often, and reach every error code.
    for (const [name] of parsers) expect(accepted.get(name)).toBeGreaterThan(RUNS / 20);
    for (const code of ['ERR_SCHEMA_JSON', 'ERR_SCHEMA_TOO_LARGE', 'ERR_SCHEMA_INVALID']) {
      expect(rejected.get(code)).toBeGreaterThan(RUNS / 1000);
    }
  });
});
