import { describe, expect, it } from 'vitest';
import { classifyAddress } from '../address-ranges.ts';
import { DestinationPolicy, parseAllowEntry } from '../destination-policy.ts';
import { StreamFailure } from '../errors.ts';
import { parseIpLiteral, parseIpv6 } from '../../server-kit/ip-address.ts';
import { tableLookup } from '../resolver.ts';
import {
  FORBIDDEN_DESTINATIONS,
  FORBIDDEN_LOOKUP,
  PUBLIC_ADDRESS,
} from './forbidden-destinations.ts';

function policy(overrides: Partial<ConstructorParameters<typeof DestinationPolicy>[0]> = {}) {
  return new DestinationPolicy({
    lookup: FORBIDDEN_LOOKUP,
    allow: [],
    allowPrivate: false,
    deniedPorts: [25],
    resolveTimeoutMs: 1000,
    ...overrides,
  });
}

async function failure(promise: Promise<unknown>): Promise<StreamFailure> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof StreamFailure) return err;
    throw err;
  }
  throw new Error('expected a StreamFailure');
}

describe('IP literals', () => {
  it('reads every IPv4 spelling a resolver accepts, and knows which are canonical', () => {
    for (const text of [
      '2130706433',
      '0177.0.0.1',
      '0x7f.0.0.1',
      '0x7f000001',
      '127.1',
      '127.0.1',
    ]) {
      const parsed = parseIpLiteral(text);
      expect(parsed?.address.text, text).toBe(text === '127.0.1' ? '127.0.0.1' : '127.0.0.1');
      expect(parsed?.canonical, text).toBe(false);
    }
    expect(parseIpLiteral('8.8.8.8')).toMatchObject({ canonical: true, address: { family: 4 } });
    for (const bad of ['256.0.0.1', '1.2.3.4.5', '09.1.1.1', '0x', 'a.b.c.d', '4294967296']) {
      expect(parseIpLiteral(bad)?.canonical, bad).not.toBe(true);
    }
    expect(parseIpLiteral('1.2.3.256')).toBeUndefined();
  });

  it('reads IPv6 with compression, brackets and an embedded IPv4 address', () => {
    expect(parseIpv6('[::ffff:127.0.0.1]')?.text).toBe('::ffff:7f00:1');
    expect(parseIpv6('2001:DB8:0:0:0:0:0:1')?.text).toBe('2001:db8::1');
    expect(parseIpv6('1:2:3:4:5:6:7:8')?.text).toBe('1:2:3:4:5:6:7:8');
    for (const bad of ['1::2::3', 'fe80::1%eth0', '1:2:3:4:5:6:7:8:9', '::ffff:1.2.3', ':::']) {
      expect(parseIpv6(bad), bad).toBeUndefined();
    }
  });

  it('classifies public addresses as public', () => {
    for (const text of [PUBLIC_ADDRESS, '1.1.1.1', '2606:4700::1111', '::ffff:8.8.8.8']) {
      const parsed = parseIpLiteral(text);
      expect(parsed && classifyAddress(parsed.address), text).toBeUndefined();
    }
  });
});

describe('DestinationPolicy', () => {
  it(`refuses ${FORBIDDEN_DESTINATIONS.length} forbidden destinations with the right reason`, async () => {
    expect(FORBIDDEN_DESTINATIONS.length).toBeGreaterThanOrEqual(25);
    const p = policy();
    for (const { host, port, refusal } of FORBIDDEN_DESTINATIONS) {
      const err = await failure(p.check(host, port));
      expect([host, err.code, err.refusal, err.reason]).toEqual([
        host,
        'ERR_EGRESS_BLOCKED',
        refusal,
        'blocked',
      ]);
    }
  });

  it('connects to the exact resolved address of an allowed name', async () => {
    const lookup = tableLookup({ 'www.example.test': [PUBLIC_ADDRESS, '2606:4700::1111'] });
    const dest = await policy({ lookup }).check('WWW.Example.Test.', 443);
    expect(dest).toMatchObject({ host: 'www.example.test', port: 443 });
    expect(dest.address.text).toBe(PUBLIC_ADDRESS);
  });

  it('lets the allow list through, by address or by name, and only on that port', async () => {
    const p = policy({
      allow: [parseAllowEntry('127.0.0.1:4000'), parseAllowEntry('localhost:5000')],
    });
    expect((await p.check('127.0.0.1', 4000)).address.text).toBe('127.0.0.1');
    expect((await p.check('localhost', 5000)).address.text).toBe('127.0.0.1');
    expect((await failure(p.check('127.0.0.1', 4001))).refusal).toBe('loopback');
    expect((await failure(p.check('localhost', 4000))).refusal).toBe('loopback');
    const open = policy({ allowPrivate: true });
    expect((await open.check('10.0.0.1', 80)).address.text).toBe('10.0.0.1');
    expect((await failure(open.check('10.0.0.1', 25))).refusal).toBe('port');
  });

  it('maps names that do not resolve and hosts that are not names', async () => {
    expect((await failure(policy().check('nowhere.test', 80))).reason).toBe('unreachable');
    expect((await failure(policy().check('a..b', 80))).reason).toBe('invalid');
    expect((await failure(policy().check('foo.0x1', 80))).reason).toBe('invalid');
    const hang = policy({ lookup: () => new Promise(() => {}), resolveTimeoutMs: 10 });
    expect((await failure(hang.check('slow.test', 80))).reason).toBe('timeout');
  });

  it('parses allow entries and refuses bad ones', () => {
    expect(parseAllowEntry('[::1]:8080')).toMatchObject({ kind: 'address', port: 8080 });
    expect(parseAllowEntry('Example.COM:443')).toEqual({
      kind: 'name',
      name: 'example.com',
      port: 443,
    });
    for (const bad of ['example.com', 'a:0', 'a:70000', '0177.0.0.1:80', 'a b:80', ':80']) {
      expect(() => parseAllowEntry(bad), bad).toThrow(RangeError);
    }
  });
});
