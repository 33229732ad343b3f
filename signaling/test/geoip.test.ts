import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SignalingError } from '../errors.ts';
import {
  GeoipDatabase,
  loadGeoip,
  parseIpv4Ranges,
  parseIpv6Ranges,
  UNKNOWN_COUNTRY,
} from '../geoip.ts';
import { ipv4ToNumber, ipv6ToBigInt } from '../../server-kit/ip-address.ts';

// Lines in Tor's format (as in tor's src/config/geoip and geoip6).
const TOR_V4 = `# Last updated based on February 7 2024 Maxmind GeoLite2 Country
16777216,16777471,AU
16777472,16778239,CN
# a comment between ranges

3758096128,3758096383,AU
`;
const TOR_V6 = `# Last updated based on February 7 2024 Maxmind GeoLite2 Country
2001:200::,2001:200:ffff:ffff:ffff:ffff:ffff:ffff,JP
2001:db8::,2001:db8::ffff,??
2a00:1450::,2a00:1450:ffff:ffff:ffff:ffff:ffff:ffff,IE
`;

describe('ip addresses', () => {
  it('converts IPv4 and IPv6 text, and rejects anything else', () => {
    expect(ipv4ToNumber('1.0.0.0')).toBe(16777216);
    expect(ipv4ToNumber('255.255.255.255')).toBe(0xffffffff);
    expect(ipv4ToNumber('1.2.3')).toBeNull();
    expect(ipv6ToBigInt('::')).toBe(0n);
    expect(ipv6ToBigInt('::1')).toBe(1n);
    expect(ipv6ToBigInt('2001:200::')).toBe(0x2001_0200n << 96n);
    expect(ipv6ToBigInt('::ffff:1.2.3.4')).toBe((0xffffn << 32n) | 0x01020304n);
    expect(ipv6ToBigInt('fe80::1%eth0')).toBe((0xfe80n << 112n) | 1n);
    expect(ipv6ToBigInt('1:2:3:4:5:6:7:8')).toBe(0x0001_0002_0003_0004_0005_0006_0007_0008n);
    expect(ipv6ToBigInt('1::2:3')).toBe((1n << 112n) | (2n << 16n) | 3n);
    expect(ipv6ToBigInt('nope')).toBeNull();
  });
});

describe('geoip', () => {
  const db = new GeoipDatabase(parseIpv4Ranges(TOR_V4), parseIpv6Ranges(TOR_V6));

  it('reads Tor-format files and looks addresses up', () => {
    expect(db.ipv4Ranges).toBe(3);
    expect(db.ipv6Ranges).toBe(2);
    expect(db.lookup('1.0.0.0')).toBe('AU');
    expect(db.lookup('1.0.0.255')).toBe('AU');
    expect(db.lookup('1.0.1.0')).toBe('CN');
    expect(db.lookup('1.0.4.0')).toBe(UNKNOWN_COUNTRY);
    expect(db.lookup('223.255.255.255')).toBe('AU');
    expect(db.lookup('224.0.0.0')).toBe(UNKNOWN_COUNTRY);
    expect(db.lookup('0.0.0.1')).toBe(UNKNOWN_COUNTRY);
    expect(db.lookup('255.255.255.255')).toBe(UNKNOWN_COUNTRY);
    expect(db.lookup('2001:200::1')).toBe('JP');
    expect(db.lookup('2001:db8::1')).toBe(UNKNOWN_COUNTRY);
    expect(db.lookup('2a00:1450:4001::1')).toBe('IE');
    expect(db.lookup('::ffff:1.0.1.1')).toBe('CN');
    expect(db.lookup('::1')).toBe(UNKNOWN_COUNTRY);
    expect(db.lookup('not an address')).toBe(UNKNOWN_COUNTRY);
  });

  it('reads integer IPv6 ranges (ip-location-db) and unsorted input', () => {
    const v6 = parseIpv6Ranges(
      `${(0x2a00n << 112n).toString()},${((0x2a01n << 112n) - 1n).toString()},de\n1,1,FR\n`,
    );
    const v4 = parseIpv4Ranges('200,300,BB\n10,20,AA\n');
    const unsorted = new GeoipDatabase(v4, v6);
    expect(unsorted.lookup('2a00::5')).toBe('DE');
    expect(unsorted.lookup('::1')).toBe('FR');
    expect(unsorted.lookup('0.0.0.15')).toBe('AA');
    expect(unsorted.lookup('0.0.1.0')).toBe('BB');
  });

  it.each([
    ['too few fields', '1,2\n'],
    ['a bad number', '1,x,AU\n'],
    ['low above high', '5,1,AU\n'],
    ['a bad country', '1,2,AUS\n'],
    ['an address past 32 bits', '1,4294967296,AU\n'],
  ])('refuses a line with %s, naming the line', (_what, text) => {
    expect(() => parseIpv4Ranges(`# ok\n${text}`, 'geoip')).toThrow(/^geoip:2: /);
    try {
      parseIpv4Ranges(text);
    } catch (err) {
      expect(err).toBeInstanceOf(SignalingError);
      expect((err as SignalingError).code).toBe('ERR_SIGNALING_GEOIP');
    }
  });

  it('loads files, and the default database from npm', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bu-geoip-'));
    await writeFile(join(dir, 'geoip'), TOR_V4);
    await writeFile(join(dir, 'geoip6'), TOR_V6);
    const fromFiles = await loadGeoip({ ipv4: join(dir, 'geoip'), ipv6: join(dir, 'geoip6') });
    expect(fromFiles.lookup('1.0.1.0')).toBe('CN');
    expect(fromFiles.lookup('2001:200::1')).toBe('JP');
    await expect(loadGeoip({ ipv4: join(dir, 'missing') })).rejects.toMatchObject({
      code: 'ERR_SIGNALING_GEOIP',
    });
    const defaults = await loadGeoip({});
    expect(defaults.ipv4Ranges).toBeGreaterThan(100_000);
    expect(defaults.ipv6Ranges).toBeGreaterThan(10_000);
    // The data changes with each release; that allocated space has a country, and documentation
    // space none, does not.
    expect(defaults.lookup('1.0.0.1')).toMatch(/^[A-Z]{2}$/);
    expect(defaults.lookup('2001:200::1')).toMatch(/^[A-Z]{2}$/);
    expect(defaults.lookup('192.0.2.1')).toBe(UNKNOWN_COUNTRY);
    expect(defaults.lookup('::1')).toBe(UNKNOWN_COUNTRY);
  });
});
