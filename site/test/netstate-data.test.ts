/** The /netstate/ page's reading of `v1/netstate`, and the graph it makes of it. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { countryName, NetstateError, parseNetstate } from '../scripts/netstate-data.ts';
import { graphModel } from '../scripts/netstate-graph.ts';

const body = (): Record<string, unknown> => ({
  version: 1,
  generatedAt: '2026-11-22T04:42:41.512Z',
  unknownCountry: 'ZZ',
  volunteers: {
    total: 3,
    available: 1,
    byCountry: [
      { country: 'DE', count: 2 },
      { country: 'ZZ', count: 1 },
    ],
    byNat: { unrestricted: 1, restricted: 2, unknown: 0 },
    byKind: { browser: 2, node: 1 },
  },
  consumers: { total: 1, byCountry: [{ country: 'IR', count: 1 }] },
  matchedPairs: { total: 2, byCountryPair: [{ volunteer: 'DE', consumer: 'IR', count: 2 }] },
});

function code(run: () => unknown): string | undefined {
  try {
    run();
    return undefined;
  } catch (err) {
    return err instanceof NetstateError ? err.code : `not a NetstateError: ${String(err)}`;
  }
}

describe('parseNetstate', () => {
  it('reads a version 1 answer', () => {
    const state = parseNetstate(body());
    expect(state.generatedAt.toISOString()).toBe('2026-11-22T04:42:41.512Z');
    expect(state.volunteers.byCountry).toEqual([
      { country: 'DE', count: 2 },
      { country: 'ZZ', count: 1 },
    ]);
    expect(state.volunteers.byNat.restricted).toBe(2);
    expect(state.pairs.byCountryPair).toEqual([{ volunteer: 'DE', consumer: 'IR', count: 2 }]);
  });

  it('refuses what is not the documented shape, with ERR_NETSTATE_INVALID', () => {
    const broken: ((b: Record<string, unknown>) => unknown)[] = [
      () => null,
      () => [],
      (b) => ({ ...b, version: 2 }),
      (b) => ({ ...b, generatedAt: 'yesterday' }),
      (b) => ({ ...b, volunteers: { ...(b['volunteers'] as object), total: -1 } }),
      (b) => ({ ...b, volunteers: { ...(b['volunteers'] as object), total: 1.5 } }),
      (b) => ({ ...b, consumers: { total: 1, byCountry: [{ country: 'iran', count: 1 }] } }),
      (b) => ({ ...b, consumers: { total: 1, byCountry: {} } }),
      (b) => ({
        ...b,
        consumers: {
          total: 1,
          byCountry: Array.from({ length: 301 }, () => ({ country: 'IR', count: 1 })),
        },
      }),
      (b) => ({ ...b, matchedPairs: { total: 1, byCountryPair: [{ volunteer: 'DE', count: 1 }] } }),
    ];
    for (const change of broken) {
      expect(code(() => parseNetstate(change(body())))).toBe('ERR_NETSTATE_INVALID');
    }
  });

  it('throws nothing but NetstateError on any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const result = code(() => parseNetstate(value));
        return result === undefined || result === 'ERR_NETSTATE_INVALID';
      }),
      { numRuns: 2000 },
    );
  });
});

describe('countryName', () => {
  it('names countries from the runtime’s own data, and ZZ as Unknown', () => {
    expect(countryName('DE')).toBe('Germany');
    expect(countryName('ZZ')).toBe('Unknown');
  });
});

describe('graphModel', () => {
  it('draws every country when they fit', () => {
    const model = graphModel(parseNetstate(body()));
    expect(model.volunteers.map((n) => [n.key, n.label, n.count])).toEqual([
      ['DE', 'Germany', 2],
      ['ZZ', 'Unknown', 1],
    ]);
    expect(model.consumers.map((n) => n.key)).toEqual(['IR']);
    expect(model.links).toEqual([{ from: 'DE', to: 'IR', count: 2 }]);
  });

  it('folds the smallest countries into one node, links included', () => {
    const countries = ['US', 'DE', 'NL', 'FR', 'SE'];
    const state = parseNetstate({
      ...body(),
      volunteers: {
        ...(body()['volunteers'] as object),
        byCountry: countries.map((country, i) => ({ country, count: 10 - i })),
      },
      matchedPairs: {
        total: 3,
        byCountryPair: [
          { volunteer: 'US', consumer: 'IR', count: 1 },
          { volunteer: 'FR', consumer: 'IR', count: 1 },
          { volunteer: 'SE', consumer: 'IR', count: 2 },
        ],
      },
    });
    const model = graphModel(state, 3);
    expect(model.volunteers.map((n) => [n.key, n.count])).toEqual([
      ['US', 10],
      ['DE', 9],
      ['other', 8 + 7 + 6],
    ]);
    expect(model.volunteers[2]?.label).toBe('3 others');
    expect(model.links).toEqual([
      { from: 'US', to: 'IR', count: 1 },
      { from: 'other', to: 'IR', count: 3 },
    ]);
  });

  it('gives a pair a node to end on even when its country is missing from a side', () => {
    const model = graphModel(
      parseNetstate({
        ...body(),
        matchedPairs: { total: 1, byCountryPair: [{ volunteer: 'FR', consumer: 'CN', count: 1 }] },
      }),
    );
    expect(model.volunteers.find((n) => n.key === 'FR')?.count).toBe(0);
    expect(model.consumers.find((n) => n.key === 'CN')?.count).toBe(0);
  });
});
