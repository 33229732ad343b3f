import { isIPv4, isIPv6 } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ipv4ToNumber, ipv6ToBigInt, parseIpLiteral, parseIpv6 } from '../ip-address.ts';

/** Text that is often almost an address: the pieces addresses are made of. */
const addressLike = fc
  .array(
    fc.constantFrom('0', '1', '01', '255', '256', 'ff', 'ffff', '0x7f', 'g', '.', ':', '::', '%'),
    { maxLength: 14 },
  )
  .map((pieces) => pieces.join(''));

const ipv4Text = fc
  .tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255))
  .map((parts) => parts.join('.'));

/** IPv6 as node would write it, or as eight full groups. */
const ipv6Text = fc
  .tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.boolean())
  .map(([bytes, full]) => {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) {
      groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16).padStart(4, '0'));
    }
    return full ? groups.join(':') : (parseIpv6(groups.join(':'))?.text ?? '');
  });

describe('ipv4ToNumber and ipv6ToBigInt', () => {
  it('take exactly what node:net takes', () => {
    fc.assert(
      fc.property(fc.oneof(addressLike, ipv4Text, ipv6Text, fc.string()), (text) => {
        expect(ipv4ToNumber(text) !== null).toBe(isIPv4(text));
        expect(ipv6ToBigInt(text) !== null).toBe(isIPv6(text));
      }),
      { numRuns: 2_000 },
    );
  });

  it('refuse spellings only a resolver would read', () => {
    for (const text of ['2130706433', '0177.0.0.1', '0x7f.1', '1.2.3.4.', '[::1]', '1.2.3.4::']) {
      expect(ipv4ToNumber(text)).toBeNull();
      expect(ipv6ToBigInt(text)).toBeNull();
    }
  });

  it('agree with the destination parser on the value', () => {
    fc.assert(
      fc.property(ipv4Text, (text) => {
        const bytes = parseIpLiteral(text)?.address.bytes ?? new Uint8Array(4);
        expect(ipv4ToNumber(text)).toBe(Buffer.from(bytes).readUInt32BE());
      }),
    );
  });
});
