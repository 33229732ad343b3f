/**
 * The JSON body of the signaling server's `GET v1/netstate`, version 1 (docs/signaling.md): the
 * public picture of the network that the site's /netstate/ page draws. The server writes this
 * type and the page reads it with `parseNetstateBody`, so the shape is written once, here.
 * Counts and country codes only: no address, id or token.
 */
import { NAT_TYPES, VOLUNTEER_KINDS, type NatType, type VolunteerKind } from './matchmaking.ts';
import {
  childPath,
  expectArray,
  expectInteger,
  expectOneOf,
  expectRecord,
  expectString,
  invalid,
  readField,
} from './schema-fields.ts';

/**
 * Unknown countries are published as `ZZ`, the ISO 3166 user-assigned code that Unicode CLDR
 * uses for "Unknown Region": unlike the metrics' `??` it is a well-formed code, so whatever
 * reads the answer can treat every country the same way.
 */
export const NETSTATE_UNKNOWN_COUNTRY = 'ZZ';

/** About 250 countries exist; a reader refuses longer lists. */
export const MAX_NETSTATE_COUNTRIES = 300;
/** Country pairs a reader accepts: what a page can usefully draw. */
export const MAX_NETSTATE_PAIRS = 5000;

export interface CountryCount {
  readonly country: string;
  readonly count: number;
}

export interface CountryPairCount {
  /** Where the volunteer is. */
  readonly volunteer: string;
  /** Where the consumer is. */
  readonly consumer: string;
  readonly count: number;
}

/** The JSON body of `v1/netstate`, version 1. Lists are sorted by count, then code. */
export interface NetstateBody {
  readonly version: 1;
  /** When this answer was computed (ISO 8601); the server reuses it for up to a second. */
  readonly generatedAt: string;
  /** The code standing for "country not known". */
  readonly unknownCountry: typeof NETSTATE_UNKNOWN_COUNTRY;
  readonly volunteers: {
    /** Registered volunteers: polling, or polled recently and still connected. */
    readonly total: number;
    /** Of those, polling now with a free slot. */
    readonly available: number;
    readonly byCountry: readonly CountryCount[];
    readonly byNat: Readonly<Record<NatType, number>>;
    readonly byKind: Readonly<Record<VolunteerKind, number>>;
  };
  readonly consumers: {
    /** Connected peers that have asked for volunteers. */
    readonly total: number;
    readonly byCountry: readonly CountryCount[];
  };
  /** Pairs matchmaking joined whose two ends are both still connected to the server. */
  readonly matchedPairs: {
    readonly total: number;
    readonly byCountryPair: readonly CountryPairCount[];
  };
}

const COUNTRY = { minLength: 2, maxLength: 2, pattern: /^[A-Z]{2}$/, describe: 'a country code' };

/**
 * Checks a parsed `v1/netstate` body field by field; throws `SchemaError` `ERR_SCHEMA_INVALID`
 * whose `path` names the first field that is not the documented shape.
 */
export function parseNetstateBody(value: unknown): NetstateBody {
  const body = expectRecord(value, 'body');
  if (readField(body, 'version') !== 1) throw invalid('version', 'must be 1');
  const generatedAt = expectString(readField(body, 'generatedAt'), 'generatedAt', {
    minLength: 1,
    maxLength: 64,
  });
  if (Number.isNaN(Date.parse(generatedAt))) throw invalid('generatedAt', 'must be a date');
  expectOneOf(readField(body, 'unknownCountry'), 'unknownCountry', [NETSTATE_UNKNOWN_COUNTRY]);
  const volunteers = expectRecord(readField(body, 'volunteers'), 'volunteers');
  const consumers = expectRecord(readField(body, 'consumers'), 'consumers');
  const pairs = expectRecord(readField(body, 'matchedPairs'), 'matchedPairs');
  return {
    version: 1,
    generatedAt,
    unknownCountry: NETSTATE_UNKNOWN_COUNTRY,
    volunteers: {
      total: count(volunteers, 'total', 'volunteers'),
      available: count(volunteers, 'available', 'volunteers'),
      byCountry: countries(readField(volunteers, 'byCountry'), 'volunteers.byCountry'),
      byNat: counts(readField(volunteers, 'byNat'), 'volunteers.byNat', NAT_TYPES),
      byKind: counts(readField(volunteers, 'byKind'), 'volunteers.byKind', VOLUNTEER_KINDS),
    },
    consumers: {
      total: count(consumers, 'total', 'consumers'),
      byCountry: countries(readField(consumers, 'byCountry'), 'consumers.byCountry'),
    },
    matchedPairs: {
      total: count(pairs, 'total', 'matchedPairs'),
      byCountryPair: expectArray(
        readField(pairs, 'byCountryPair'),
        'matchedPairs.byCountryPair',
        0,
        MAX_NETSTATE_PAIRS,
      ).map((item, index) => {
        const path = childPath('matchedPairs.byCountryPair', index);
        const pair = expectRecord(item, path);
        return {
          volunteer: country(pair, 'volunteer', path),
          consumer: country(pair, 'consumer', path),
          count: count(pair, 'count', path),
        };
      }),
    },
  };
}

function count(record: object, key: string, path: string): number {
  return expectInteger(readField(record, key), childPath(path, key), 0, Number.MAX_SAFE_INTEGER);
}

function country(record: object, key: string, path: string): string {
  return expectString(readField(record, key), childPath(path, key), COUNTRY);
}

function countries(value: unknown, path: string): CountryCount[] {
  return expectArray(value, path, 0, MAX_NETSTATE_COUNTRIES).map((item, index) => {
    const itemPath = childPath(path, index);
    const entry = expectRecord(item, itemPath);
    return { country: country(entry, 'country', itemPath), count: count(entry, 'count', itemPath) };
  });
}

function counts<K extends string>(
  value: unknown,
  path: string,
  keys: readonly K[],
): Record<K, number> {
  const record = expectRecord(value, path);
  const out = {} as Record<K, number>;
  for (const key of keys) out[key] = count(record, key, path);
  return out;
}
