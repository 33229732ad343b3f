/**
 * Fuzzes the matchmaking parsers: 100,000 seeded inputs, each fed to every parser (random JSON
 * and JS values, valid bodies of every kind with fields dropped, retyped, oversized or nested
 * too deep), and 100,000 texts to `parseJsonBody`, whose results go to one parser each.
 * The only exception allowed is SchemaError, and whatever is accepted must parse again to the
 * same value after a JSON round trip.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SchemaError } from '../errors.ts';
import {
  parseConsumerMatchRequest,
  parseConsumerMatchResponse,
  parseEgressInfo,
  parseJsonBody,
  parseMatchmakingError,
  parseVolunteerPollRequest,
  parseVolunteerPollResponse,
} from '../matchmaking.ts';
import { parseSignalingConfig } from '../signaling-config.ts';
import { FUZZ_RUNS } from './fuzz-helpers.ts';
import { parsesOrSchemaError, samplePools, textFor, valueFor } from './fuzz-inputs.ts';
import {
  consumerMatchRequestArb,
  consumerMatchResponseArb,
  egressArb,
  matchmakingErrorArb,
  signalingConfigArb,
  volunteerPollRequestArb,
  volunteerPollResponseArb,
} from './signaling-arbitraries.ts';

const SEED = 0x5eed;
const RUNS = FUZZ_RUNS;

const parsers: readonly (readonly [string, (body: unknown) => unknown])[] = [
  ['parseVolunteerPollRequest', parseVolunteerPollRequest],
  ['parseVolunteerPollResponse', parseVolunteerPollResponse],
  ['parseConsumerMatchRequest', parseConsumerMatchRequest],
  ['parseConsumerMatchResponse', parseConsumerMatchResponse],
  ['parseMatchmakingError', parseMatchmakingError],
  ['parseEgressInfo', (body) => parseEgressInfo(body)],
  ['parseSignalingConfig', parseSignalingConfig],
];

describe('fuzz', () => {
  // Capturing a stack for each of ~1,000,000 rejections would be most of the run time.
  const stackTraceLimit = Error.stackTraceLimit;
  beforeAll(() => {
    Error.stackTraceLimit = 0;
  });
  afterAll(() => {
    Error.stackTraceLimit = stackTraceLimit;
  });

  it(`parseJsonBody and ${parsers.length} body parsers throw nothing but SchemaError (${RUNS} inputs each)`, () => {
    const pools = samplePools(
      [
        volunteerPollRequestArb,
        volunteerPollResponseArb,
        consumerMatchRequestArb,
        consumerMatchResponseArb,
        matchmakingErrorArb,
        egressArb,
        signalingConfigArb,
      ],
      SEED,
    );
    const accepted = new Map<string, number>();
    const rejected = new Map<string, number>();
    const count = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
    const run = (
      body: unknown,
      which: readonly (readonly [string, (body: unknown) => unknown])[],
    ) => {
      for (const [name, parse] of which) {
        const result = parsesOrSchemaError(() => parse(body));
        if (result instanceof SchemaError) {
          count(rejected, result.code);
          continue;
        }
        count(accepted, name);
        const again = JSON.stringify(parse(JSON.parse(JSON.stringify(result))));
        if (again !== JSON.stringify(result)) throw new Error(`${name}: round trip changed`);
      }
    };
    fc.assert(
      fc.property(fc.nat(), (seed) => {
        run(valueFor(pools, seed), parsers);
        // Texts mostly encode the same values again, so one parser per parsed body is enough.
        const body = parsesOrSchemaError(() => parseJsonBody(textFor(pools, seed)));
        if (body instanceof SchemaError) count(rejected, body.code);
        else run(body, parsers.slice(seed % parsers.length, (seed % parsers.length) + 1));
      }),
      { seed: SEED, numRuns: RUNS },
    );
    // Each parser must see its own kind of body accepted often, and every error code occur.
    for (const [name] of parsers) expect(accepted.get(name)).toBeGreaterThan(RUNS / 100);
    for (const code of ['ERR_SCHEMA_JSON', 'ERR_SCHEMA_TOO_LARGE', 'ERR_SCHEMA_INVALID']) {
      expect(rejected.get(code)).toBeGreaterThan(RUNS / 1000);
    }
  });
});
