/**
 * The /netstate/ page's view of the signaling server's `v1/netstate` answer: the JSON is checked
 * field by field here, at the boundary, before anything is drawn. The server's own type lives in
 * signaling/ (which the site may not import); this is the reader's half of the same contract,
 * version 1, described in docs/signaling.md.
 */

export type NetstateErrorCode =
  /** The request failed: offline, refused, timed out. */
  | 'ERR_NETSTATE_UNREACHABLE'
  /** The server answered with a status other than 200. */
  | 'ERR_NETSTATE_STATUS'
  /** The body is not JSON or not the documented shape. */
  | 'ERR_NETSTATE_INVALID';

export class NetstateError extends Error {
  override name = 'NetstateError';
  readonly code: NetstateErrorCode;
  constructor(code: NetstateErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export interface CountryCount {
  readonly country: string;
  readonly count: number;
}

export interface PairCount {
  readonly volunteer: string;
  readonly consumer: string;
  readonly count: number;
}

export interface Netstate {
  readonly generatedAt: Date;
  readonly volunteers: {
    readonly total: number;
    readonly available: number;
    readonly byCountry: readonly CountryCount[];
    readonly byNat: {
      readonly unrestricted: number;
      readonly restricted: number;
      readonly unknown: number;
    };
    readonly byKind: { readonly browser: number; readonly node: number };
  };
  readonly consumers: { readonly total: number; readonly byCountry: readonly CountryCount[] };
  readonly pairs: { readonly total: number; readonly byCountryPair: readonly PairCount[] };
}

/** The code the server uses for "country not known". */
export const UNKNOWN_COUNTRY = 'ZZ';

/** About 250 countries exist; pairs of them are bounded by what a page can usefully draw. */
const MAX_COUNTRIES = 300;
const MAX_PAIRS = 5000;
const COUNTRY = /^[A-Z]{2}$/;

export function parseNetstate(value: unknown): Netstate {
  const body = record(value, 'body');
  if (body['version'] !== 1) throw invalid('version must be 1');
  const generatedAt = new Date(text(body['generatedAt'], 'generatedAt'));
  if (Number.isNaN(generatedAt.getTime())) throw invalid('generatedAt must be a date');
  const volunteers = record(body['volunteers'], 'volunteers');
  const byNat = record(volunteers['byNat'], 'volunteers.byNat');
  const byKind = record(volunteers['byKind'], 'volunteers.byKind');
  const consumers = record(body['consumers'], 'consumers');
  const pairs = record(body['matchedPairs'], 'matchedPairs');
  return {
    generatedAt,
    volunteers: {
      total: count(volunteers['total'], 'volunteers.total'),
      available: count(volunteers['available'], 'volunteers.available'),
      byCountry: countries(volunteers['byCountry'], 'volunteers.byCountry'),
      byNat: {
        unrestricted: count(byNat['unrestricted'], 'byNat.unrestricted'),
        restricted: count(byNat['restricted'], 'byNat.restricted'),
        unknown: count(byNat['unknown'], 'byNat.unknown'),
      },
      byKind: {
        browser: count(byKind['browser'], 'byKind.browser'),
        node: count(byKind['node'], 'byKind.node'),
      },
    },
    consumers: {
      total: count(consumers['total'], 'consumers.total'),
      byCountry: countries(consumers['byCountry'], 'consumers.byCountry'),
    },
    pairs: {
      total: count(pairs['total'], 'matchedPairs.total'),
      byCountryPair: list(pairs['byCountryPair'], 'matchedPairs.byCountryPair', MAX_PAIRS).map(
        (item, index) => {
          const name = `matchedPairs.byCountryPair[${index}]`;
          const pair = record(item, name);
          return {
            volunteer: country(pair['volunteer'], `${name}.volunteer`),
            consumer: country(pair['consumer'], `${name}.consumer`),
            count: count(pair['count'], `${name}.count`),
          };
        },
      ),
    },
  };
}

let displayNames: Intl.DisplayNames | undefined;

/** A country's English name from the browser's own data (no request); `ZZ` is "Unknown". */
export function countryName(code: string): string {
  if (code === UNKNOWN_COUNTRY) return 'Unknown';
  try {
    displayNames ??= new Intl.DisplayNames(['en'], { type: 'region', fallback: 'code' });
    return displayNames.of(code) ?? code;
  } catch {
    return code;
  }
}

function invalid(message: string): NetstateError {
  return new NetstateError('ERR_NETSTATE_INVALID', `the network state is malformed: ${message}`);
}

function record(value: unknown, name: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(`${name} must be an object`);
  }
  return value as Record<string, unknown>;
}

function text(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length > 64)
    throw invalid(`${name} must be a short string`);
  return value;
}

function count(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalid(`${name} must be a whole number ≥ 0`);
  }
  return value;
}

function country(value: unknown, name: string): string {
  if (typeof value !== 'string' || !COUNTRY.test(value)) {
    throw invalid(`${name} must be a two-letter country code`);
  }
  return value;
}

function list(value: unknown, name: string, max: number): unknown[] {
  if (!Array.isArray(value)) throw invalid(`${name} must be a list`);
  if (value.length > max) throw invalid(`${name} has more than ${max} entries`);
  return value;
}

function countries(value: unknown, name: string): CountryCount[] {
  return list(value, name, MAX_COUNTRIES).map((item, index) => {
    const entry = record(item, `${name}[${index}]`);
    return {
      country: country(entry['country'], `${name}[${index}].country`),
      count: count(entry['count'], `${name}[${index}].count`),
    };
  });
}
