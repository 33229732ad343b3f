/**
 * IP-to-country lookup over sorted ranges, by binary search. Reads two formats, both lines of
 * `LOW,HIGH,CC` with `#` comments:
 *  - Tor's `geoip` / `geoip6` files (as Snowflake uses): IPv4 as integers, IPv6 as text;
 *  - ip-location-db's `*-num.csv` (the default database, CC0): both as integers.
 * Ranges are stored in typed arrays, so the default database (about 550,000 ranges) costs a
 * few megabytes and no per-entry objects.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { GeoipFiles } from './config.ts';
import { SignalingError } from './errors.ts';
import { ipv4ToNumber, ipv6ToBigInt } from '../server-kit/ip-address.ts';

export const UNKNOWN_COUNTRY = '??';

const COUNTRY = /^[A-Za-z]{2}$/;
const DECIMAL = /^[0-9]{1,39}$/;
const MAX_IPV4 = 0xffff_ffff;
const MAX_IPV6 = (1n << 128n) - 1n;
const LOW_64 = (1n << 64n) - 1n;

/** Sorted, non-overlapping ranges of one address family. */
interface RangeTable<T extends number | bigint> {
  readonly size: number;
  low(index: number): T;
  high(index: number): T;
  country(index: number): string;
}

interface Row<T> {
  readonly low: T;
  readonly high: T;
  readonly cc: number;
}

export class GeoipDatabase {
  readonly #v4: RangeTable<number>;
  readonly #v6: RangeTable<bigint>;

  constructor(v4: RangeTable<number> = emptyTable(), v6: RangeTable<bigint> = emptyTable()) {
    this.#v4 = v4;
    this.#v6 = v6;
  }

  get ipv4Ranges(): number {
    return this.#v4.size;
  }

  get ipv6Ranges(): number {
    return this.#v6.size;
  }

  /** The country of `ip` (either family, IPv4-mapped IPv6 included), or `??`. */
  lookup(ip: string): string {
    const v4 = ipv4ToNumber(ip);
    if (v4 !== null) return find(this.#v4, v4);
    const v6 = ipv6ToBigInt(ip);
    if (v6 === null) return UNKNOWN_COUNTRY;
    if (v6 >> 32n === 0xffffn) return find(this.#v4, Number(v6 & 0xffff_ffffn));
    return find(this.#v6, v6);
  }
}

/** Where the default (npm) database keeps its files. */
export function defaultGeoipFiles(): Required<GeoipFiles> {
  const require = createRequire(import.meta.url);
  const dir = dirname(require.resolve('@ip-location-db/geo-whois-asn-country/package.json'));
  return {
    ipv4: join(dir, 'geo-whois-asn-country-ipv4-num.csv'),
    ipv6: join(dir, 'geo-whois-asn-country-ipv6-num.csv'),
  };
}

/** Loads both families; a file not given comes from the default database. */
export async function loadGeoip(files: GeoipFiles): Promise<GeoipDatabase> {
  const defaults = defaultGeoipFiles();
  const [v4, v6] = await Promise.all([
    readText(files.ipv4 ?? defaults.ipv4),
    readText(files.ipv6 ?? defaults.ipv6),
  ]);
  return new GeoipDatabase(
    parseIpv4Ranges(v4, files.ipv4 ?? defaults.ipv4),
    parseIpv6Ranges(v6, files.ipv6 ?? defaults.ipv6),
  );
}

export function parseIpv4Ranges(text: string, source = 'geoip'): RangeTable<number> {
  const rows = parseRows(text, source, (field) => {
    if (!DECIMAL.test(field)) return ipv4ToNumber(field);
    const value = Number(field);
    return value <= MAX_IPV4 ? value : null;
  });
  const low = new Uint32Array(rows.length);
  const high = new Uint32Array(rows.length);
  const cc = new Uint16Array(rows.length);
  rows.forEach((row, index) => {
    low[index] = row.low;
    high[index] = row.high;
    cc[index] = row.cc;
  });
  return {
    size: rows.length,
    low: (index) => low[index] ?? 0,
    high: (index) => high[index] ?? 0,
    country: (index) => decodeCountry(cc[index] ?? 0),
  };
}

export function parseIpv6Ranges(text: string, source = 'geoip6'): RangeTable<bigint> {
  const rows = parseRows(text, source, (field) => {
    if (!DECIMAL.test(field)) return ipv6ToBigInt(field);
    const value = BigInt(field);
    return value <= MAX_IPV6 ? value : null;
  });
  // 128-bit values as two 64-bit halves each: typed arrays cannot hold one bigint of 128 bits.
  const lowHi = new BigUint64Array(rows.length);
  const lowLo = new BigUint64Array(rows.length);
  const highHi = new BigUint64Array(rows.length);
  const highLo = new BigUint64Array(rows.length);
  const cc = new Uint16Array(rows.length);
  rows.forEach((row, index) => {
    lowHi[index] = row.low >> 64n;
    lowLo[index] = row.low & LOW_64;
    highHi[index] = row.high >> 64n;
    highLo[index] = row.high & LOW_64;
    cc[index] = row.cc;
  });
  return {
    size: rows.length,
    low: (index) => ((lowHi[index] ?? 0n) << 64n) | (lowLo[index] ?? 0n),
    high: (index) => ((highHi[index] ?? 0n) << 64n) | (highLo[index] ?? 0n),
    country: (index) => decodeCountry(cc[index] ?? 0),
  };
}

function parseRows<T extends number | bigint>(
  text: string,
  source: string,
  parseAddress: (field: string) => T | null,
): Row<T>[] {
  const rows: Row<T>[] = [];
  let lineNumber = 0;
  let sorted = true;
  for (const rawLine of text.split('\n')) {
    lineNumber += 1;
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(',');
    const low = parseAddress(fields[0]?.trim() ?? '');
    const high = parseAddress(fields[1]?.trim() ?? '');
    const cc = fields[2]?.trim() ?? '';
    if (fields.length !== 3 || low === null || high === null || low > high) {
      throw new SignalingError(
        'ERR_SIGNALING_GEOIP',
        `${source}:${lineNumber}: expected LOW,HIGH,CC with LOW <= HIGH`,
      );
    }
    // Tor's files mark unassigned space with `??`; leaving it out gives the same answer.
    if (cc === UNKNOWN_COUNTRY) continue;
    if (!COUNTRY.test(cc)) {
      throw new SignalingError(
        'ERR_SIGNALING_GEOIP',
        `${source}:${lineNumber}: the country must be two letters`,
      );
    }
    const previous = rows[rows.length - 1];
    if (previous !== undefined && previous.low > low) sorted = false;
    rows.push({ low, high, cc: encodeCountry(cc.toUpperCase()) });
  }
  if (!sorted) rows.sort((a, b) => (a.low < b.low ? -1 : a.low > b.low ? 1 : 0));
  return rows;
}

/** The last range starting at or before `address`, if it also ends at or after it. */
function find<T extends number | bigint>(table: RangeTable<T>, address: T): string {
  let lo = 0;
  let hi = table.size - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (table.low(mid) <= address) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found >= 0 && address <= table.high(found) ? table.country(found) : UNKNOWN_COUNTRY;
}

function encodeCountry(cc: string): number {
  return (cc.charCodeAt(0) << 8) | cc.charCodeAt(1);
}

function decodeCountry(code: number): string {
  return code === 0 ? UNKNOWN_COUNTRY : String.fromCharCode(code >> 8, code & 0xff);
}

function emptyTable<T extends number | bigint>(): RangeTable<T> {
  return {
    size: 0,
    low: () => {
      throw new RangeError('empty table');
    },
    high: () => {
      throw new RangeError('empty table');
    },
    country: () => UNKNOWN_COUNTRY,
  };
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new SignalingError(
      'ERR_SIGNALING_GEOIP',
      `cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}
