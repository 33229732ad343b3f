/** IP address text to integers, for range lookups. Strict: anything `net` rejects is null. */
import { isIPv4, isIPv6 } from 'node:net';

export function ipv4ToNumber(text: string): number | null {
  if (!isIPv4(text)) return null;
  let value = 0;
  for (const part of text.split('.')) value = value * 256 + Number(part);
  return value;
}

export function ipv6ToBigInt(text: string): bigint | null {
  // A zone (`fe80::1%eth0`) says which link, not which address.
  const address = text.split('%')[0] ?? '';
  if (!isIPv6(address)) return null;
  let groups = address;
  const lastColon = address.lastIndexOf(':');
  const tail = address.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = ipv4ToNumber(tail);
    if (v4 === null) return null;
    groups = `${address.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const [head = '', rest] = groups.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = rest === undefined || rest === '' ? [] : rest.split(':');
  const missing = 8 - left.length - right.length;
  const all = rest === undefined ? left : [...left, ...Array<string>(missing).fill('0'), ...right];
  let value = 0n;
  for (const group of all) value = (value << 16n) | BigInt(Number.parseInt(group, 16));
  return value;
}
