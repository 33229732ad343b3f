/**
 * IP address text, parsed once for every Node part. Two strictnesses:
 *  - a destination policy must see every spelling a resolver or URL parser accepts
 *    (`2130706433`, `0177.0.0.1`, `0x7f.1`), so `parseIpLiteral` reads those too (inet_aton /
 *    WHATWG URL rules) and reports whether the spelling was canonical: a policy that only
 *    understood dotted quads could be walked around with another spelling;
 *  - a caller's address (geoip, NAT probe, per-`/64` groups) is only ever canonical text, so
 *    `ipv4ToNumber` and `ipv6ToBigInt` take exactly what `net.isIPv4` / `net.isIPv6` take
 *    (an IPv6 zone, `fe80::1%eth0`, included) and give a number for range lookups.
 */

export interface IpAddress {
  readonly family: 4 | 6;
  /** 4 or 16 bytes, network order. */
  readonly bytes: Uint8Array;
  /** Canonical text, without brackets: what we hand to `net.connect`. */
  readonly text: string;
}

export interface ParsedHost {
  readonly address: IpAddress;
  /** False for any IPv4 spelling other than four decimal parts without leading zeros. */
  readonly canonical: boolean;
}

const DECIMAL = /^(?:0|[1-9][0-9]*)$/;
const DIGITS = /^[0-9]+$/;
const OCTAL = /^0[0-7]*$/;
const HEX = /^0[xX][0-9a-fA-F]*$/;

function parseIpv4Part(part: string): number | undefined {
  if (HEX.test(part)) return part.length === 2 ? 0 : parseInt(part.slice(2), 16);
  if (part.length > 1 && OCTAL.test(part)) return parseInt(part.slice(1), 8);
  if (DIGITS.test(part) && !part.startsWith('0')) return parseInt(part, 10);
  if (part === '0') return 0;
  return undefined;
}

function looksNumeric(part: string): boolean {
  return DIGITS.test(part) || HEX.test(part);
}

/** WHATWG "ends in a number": such a host must parse as IPv4 or is invalid, never a DNS name. */
export function endsInNumber(host: string): boolean {
  const parts = host.split('.');
  if (parts.at(-1) === '' && parts.length > 1) parts.pop();
  const last = parts.at(-1) ?? '';
  return last !== '' && looksNumeric(last);
}

function ipv4Text(bytes: Uint8Array): string {
  return Array.from(bytes).join('.');
}

export function ipv4(bytes: Uint8Array): IpAddress {
  return { family: 4, bytes, text: ipv4Text(bytes) };
}

/** Any inet_aton / WHATWG spelling of an IPv4 address: 1–4 parts, decimal, octal or hex. */
export function parseIpv4(text: string): ParsedHost | undefined {
  const parts = text.split('.');
  if (parts.length > 1 && parts.at(-1) === '') parts.pop();
  if (parts.length === 0 || parts.length > 4) return undefined;
  const values: number[] = [];
  for (const part of parts) {
    if (part.length === 0 || part.length > 32) return undefined;
    const value = parseIpv4Part(part);
    if (value === undefined || !Number.isSafeInteger(value)) return undefined;
    values.push(value);
  }
  const last = values.pop() ?? 0;
  if (values.some((v) => v > 255)) return undefined;
  if (last >= 256 ** (4 - values.length)) return undefined;
  let n = last;
  for (const [i, v] of values.entries()) n += v * 256 ** (3 - i);
  const bytes = new Uint8Array([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
  const spelled = text.split('.');
  const canonical = spelled.length === 4 && spelled.every((p) => DECIMAL.test(p));
  return { address: ipv4(bytes), canonical };
}

const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/** Strict dotted-quad IPv4, as allowed at the end of an IPv6 literal. */
function parseDottedQuad(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => DECIMAL.test(p) && p.length <= 3)) return undefined;
  const values = parts.map((p) => parseInt(p, 10));
  if (values.some((v) => v > 255)) return undefined;
  return new Uint8Array(values);
}

/** Hex groups; a dotted quad only as the last piece of the address (`lastPiece`). */
function parseGroups(text: string, lastPiece: boolean): number[] | undefined {
  if (text === '') return [];
  const groups: number[] = [];
  const pieces = text.split(':');
  for (const [i, piece] of pieces.entries()) {
    if (lastPiece && i === pieces.length - 1 && piece.includes('.')) {
      const quad = parseDottedQuad(piece);
      if (quad === undefined) return undefined;
      groups.push(((quad[0] ?? 0) << 8) | (quad[1] ?? 0), ((quad[2] ?? 0) << 8) | (quad[3] ?? 0));
    } else if (HEX_GROUP.test(piece)) {
      groups.push(parseInt(piece, 16));
    } else {
      return undefined;
    }
  }
  return groups;
}

/** An IPv6 literal, with or without brackets. Zone ids (`%eth0`) are not destinations. */
export function parseIpv6(input: string): IpAddress | undefined {
  let text = input;
  if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1);
  if (!text.includes(':') || text.length > 45) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  let groups: number[];
  if (halves.length === 2) {
    const head = parseGroups(halves[0] ?? '', false);
    const tail = parseGroups(halves[1] ?? '', true);
    if (head === undefined || tail === undefined || head.length + tail.length > 7) return undefined;
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    const all = parseGroups(text, true);
    if (all === undefined || all.length !== 8) return undefined;
    groups = all;
  }
  const bytes = new Uint8Array(16);
  for (const [i, g] of groups.entries()) {
    bytes[i * 2] = g >>> 8;
    bytes[i * 2 + 1] = g & 0xff;
  }
  return ipv6(bytes);
}

export function ipv6(bytes: Uint8Array): IpAddress {
  return { family: 6, bytes, text: formatIpv6(bytes) };
}

/** RFC 5952 text: lowercase, longest run of zero groups (length ≥ 2) as `::`. */
export function formatIpv6(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  const head = hex.slice(0, bestStart).join(':');
  const tail = hex.slice(bestStart + bestLength).join(':');
  return `${head}::${tail}`;
}

/**
 * Parses a host as an IP literal in any spelling a resolver would accept; `undefined` means it
 * is not an IP literal (a DNS name, or garbage the caller must refuse).
 */
export function parseIpLiteral(host: string): ParsedHost | undefined {
  const v6 = parseIpv6(host);
  if (v6 !== undefined) return { address: v6, canonical: true };
  return parseIpv4(host);
}

/** Parses an address as a resolver returns it (canonical text only). */
export function parseResolvedAddress(text: string): IpAddress | undefined {
  const parsed = parseIpLiteral(text);
  return parsed?.canonical === true ? parsed.address : undefined;
}

export function sameAddress(a: IpAddress, b: IpAddress): boolean {
  return a.family === b.family && a.bytes.every((byte, i) => byte === b.bytes[i]);
}

/** A canonical dotted quad (what `net.isIPv4` accepts) as a number, else null. */
export function ipv4ToNumber(text: string): number | null {
  const parsed = parseIpv4(text);
  if (parsed?.canonical !== true) return null;
  const [a = 0, b = 0, c = 0, d = 0] = parsed.address.bytes;
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

const ZONE = /^[0-9a-zA-Z.:-]+$/;

/** IPv6 text (what `net.isIPv6` accepts: no brackets, a zone allowed) as a number, else null. */
export function ipv6ToBigInt(text: string): bigint | null {
  // A zone (`fe80::1%eth0`) says which link, not which address.
  const zoneAt = text.indexOf('%');
  const address = zoneAt < 0 ? text : text.slice(0, zoneAt);
  if (zoneAt >= 0 && !ZONE.test(text.slice(zoneAt + 1))) return null;
  if (address.startsWith('[')) return null;
  const parsed = parseIpv6(address);
  if (parsed === undefined) return null;
  let value = 0n;
  for (const byte of parsed.bytes) value = (value << 8n) | BigInt(byte);
  return value;
}
