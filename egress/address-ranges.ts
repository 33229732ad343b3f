/**
 * Which addresses an egress must never connect to on a stranger's behalf: anything that is
 * not globally routable unicast. IPv6 forms that embed an IPv4 address (mapped, compatible,
 * NAT64, 6to4) are judged by the IPv4 address inside, since that is where they lead.
 */
import type { PolicyRefusal } from './errors.ts';
import { ipv4, type IpAddress } from '../server-kit/ip-address.ts';

type Ipv4Range = readonly [a: number, b: number, c: number, d: number, prefix: number];

const IPV4_RANGES: ReadonlyArray<readonly [Ipv4Range, PolicyRefusal]> = [
  [[0, 0, 0, 0, 8], 'unspecified'],
  [[10, 0, 0, 0, 8], 'private'],
  [[100, 64, 0, 0, 10], 'cgnat'],
  [[127, 0, 0, 0, 8], 'loopback'],
  [[169, 254, 0, 0, 16], 'link-local'],
  [[172, 16, 0, 0, 12], 'private'],
  [[192, 0, 0, 0, 24], 'reserved'],
  [[192, 0, 2, 0, 24], 'documentation'],
  [[192, 88, 99, 0, 24], 'reserved'],
  [[192, 168, 0, 0, 16], 'private'],
  [[198, 18, 0, 0, 15], 'reserved'],
  [[198, 51, 100, 0, 24], 'documentation'],
  [[203, 0, 113, 0, 24], 'documentation'],
  [[224, 0, 0, 0, 4], 'multicast'],
  [[255, 255, 255, 255, 32], 'broadcast'],
  [[240, 0, 0, 0, 4], 'reserved'],
];

function inPrefix(bytes: Uint8Array, base: readonly number[], prefix: number): boolean {
  for (let bit = 0; bit < prefix; bit += 8) {
    const bits = Math.min(8, prefix - bit);
    const mask = (0xff << (8 - bits)) & 0xff;
    if (((bytes[bit / 8] ?? 0) & mask) !== ((base[bit / 8] ?? 0) & mask)) return false;
  }
  return true;
}

function classifyIpv4(bytes: Uint8Array): PolicyRefusal | undefined {
  for (const [[a, b, c, d, prefix], refusal] of IPV4_RANGES) {
    if (inPrefix(bytes, [a, b, c, d], prefix)) return refusal;
  }
  return undefined;
}

function groupsPrefix(groups: readonly number[]): number[] {
  return groups.flatMap((g) => [g >>> 8, g & 0xff]);
}

type Ipv6Range = readonly [groups: readonly number[], prefix: number, refusal: PolicyRefusal];

/** Checked after the embedded-IPv4 forms; the first match wins. */
const IPV6_RANGES: readonly Ipv6Range[] = [
  [[0x64, 0xff9b, 0x1], 48, 'private'],
  [[0x100], 64, 'reserved'],
  [[0x2001, 0xdb8], 32, 'documentation'],
  [[0x2001, 0x2], 48, 'reserved'],
  [[0x2001], 32, 'reserved'],
  [[0x3fff], 20, 'documentation'],
  [[0xfc00], 7, 'unique-local'],
  [[0xfe80], 10, 'link-local'],
  [[0xfec0], 10, 'private'],
  [[0xff00], 8, 'multicast'],
];

const GLOBAL_UNICAST: Ipv6Range = [[0x2000], 3, 'reserved'];

function embeddedIpv4(bytes: Uint8Array): Uint8Array | undefined {
  const first10Zero = bytes.subarray(0, 10).every((b) => b === 0);
  // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible, deprecated)
  if (first10Zero && bytes[10] === 0xff && bytes[11] === 0xff) return bytes.slice(12);
  if (first10Zero && bytes[10] === 0 && bytes[11] === 0) return bytes.slice(12);
  // 64:ff9b::a.b.c.d (NAT64 well-known prefix)
  if (inPrefix(bytes, groupsPrefix([0x64, 0xff9b, 0, 0, 0, 0]), 96)) return bytes.slice(12);
  // 2002:aabb:ccdd::/48 (6to4)
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return bytes.slice(2, 6);
  return undefined;
}

function classifyIpv6(bytes: Uint8Array): PolicyRefusal | undefined {
  if (bytes.every((b) => b === 0)) return 'unspecified';
  if (bytes.subarray(0, 15).every((b) => b === 0) && bytes[15] === 1) return 'loopback';
  const inner = embeddedIpv4(bytes);
  if (inner !== undefined) {
    const refusal = classifyIpv4(inner);
    if (refusal !== undefined) return refusal;
    // Compatible addresses are deprecated and never routable, whatever they embed.
    if (bytes.subarray(0, 12).every((b) => b === 0)) return 'reserved';
    return undefined;
  }
  for (const [groups, prefix, refusal] of IPV6_RANGES) {
    if (inPrefix(bytes, groupsPrefix(groups), prefix)) return refusal;
  }
  const [groups, prefix, refusal] = GLOBAL_UNICAST;
  return inPrefix(bytes, groupsPrefix(groups), prefix) ? undefined : refusal;
}

/** Why `address` is not a public destination, or `undefined` when it is one. */
export function classifyAddress(address: IpAddress): PolicyRefusal | undefined {
  return address.family === 4 ? classifyIpv4(address.bytes) : classifyIpv6(address.bytes);
}

/** The IPv4 address an IPv6 address leads to, if it embeds one (for logs and tests). */
export function unwrapIpv4(address: IpAddress): IpAddress | undefined {
  if (address.family === 4) return address;
  const inner = embeddedIpv4(address.bytes);
  return inner === undefined ? undefined : ipv4(inner);
}
