/**
 * Who is calling, as the servers count callers: one spelling per address, and one group per
 * IPv6 prefix, because anyone with an IPv6 connection holds a whole /64 (often a /56 or /48)
 * and could otherwise take a fresh address for every request.
 */
import type { IncomingMessage } from 'node:http';
import { isIPv6 } from 'node:net';
import { ipv6ToBigInt } from './ip-address.ts';

/** The default IPv6 prefix length that counts as one caller. */
export const DEFAULT_IPV6_PREFIX = 64;

/**
 * The caller's address as one spelling: IPv4 peers on a dual-stack socket appear as
 * `::ffff:a.b.c.d`, and the same-address rule and per-address counts must see one address.
 * Proxy headers are not trusted: the servers are meant to face clients directly.
 */
export function clientIp(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/**
 * The key per-address limits count under: an IPv4 address as it is, an IPv6 address cut to
 * its first `ipv6Prefix` bits (`2001:db8:1:2::/64`). Anything else is its own group.
 */
export function addressGroup(ip: string, ipv6Prefix: number = DEFAULT_IPV6_PREFIX): string {
  if (!isIPv6(ip.split('%')[0] ?? '') || ipv6Prefix >= 128) return ip;
  const value = ipv6ToBigInt(ip);
  if (value === null) return ip;
  const bits = BigInt(128 - Math.max(0, ipv6Prefix));
  const prefix = (value >> bits) << bits;
  const groups: string[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) {
    groups.push(((prefix >> shift) & 0xffffn).toString(16));
  }
  return `${groups.join(':')}/${ipv6Prefix}`;
}
