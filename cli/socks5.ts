/**
 * SOCKS5 (RFC 1928) as `bu proxy` speaks it: no authentication, CONNECT only, IPv4, domain
 * and IPv6 addresses. No I/O: the proxy feeds the bytes it has so far and gets "need more",
 * a parsed message, or an error carrying the reply code to send before closing.
 */
import { CodedError } from '../protocol/errors.ts';
import { formatIpv6 } from '../server-kit/ip-address.ts';

export const SOCKS_VERSION = 0x05;
export const NO_AUTH = 0x00;
export const NO_ACCEPTABLE_METHOD = 0xff;

/** Reply codes (RFC 1928 §6). */
export const SOCKS_REPLY = {
  succeeded: 0x00,
  generalFailure: 0x01,
  notAllowed: 0x02,
  networkUnreachable: 0x03,
  hostUnreachable: 0x04,
  connectionRefused: 0x05,
  ttlExpired: 0x06,
  commandNotSupported: 0x07,
  addressTypeNotSupported: 0x08,
} as const;

export type SocksReplyCode = (typeof SOCKS_REPLY)[keyof typeof SOCKS_REPLY];

export class SocksError extends CodedError<'ERR_PROXY_SOCKS'> {
  override name = 'SocksError';
  /** The reply to send, or undefined when the peer is not speaking SOCKS5 (just close). */
  readonly reply: SocksReplyCode | undefined;
  constructor(reply: SocksReplyCode | undefined, message: string) {
    super('ERR_PROXY_SOCKS', message);
    this.reply = reply;
  }
}

export interface SocksGreeting {
  readonly methods: readonly number[];
}

/** The client's greeting: VER NMETHODS METHODS… */
export function parseGreeting(
  bytes: Uint8Array,
): { greeting: SocksGreeting; length: number } | undefined {
  if (bytes.length < 1) return undefined;
  if (bytes[0] !== SOCKS_VERSION) throw new SocksError(undefined, 'not a SOCKS5 client');
  if (bytes.length < 2) return undefined;
  const count = bytes[1] ?? 0;
  if (count === 0) throw new SocksError(undefined, 'a greeting must offer a method');
  if (bytes.length < 2 + count) return undefined;
  return { greeting: { methods: [...bytes.subarray(2, 2 + count)] }, length: 2 + count };
}

/** The method reply: no authentication when offered, else "no acceptable method". */
export function greetingReply(greeting: SocksGreeting): Uint8Array {
  const method = greeting.methods.includes(NO_AUTH) ? NO_AUTH : NO_ACCEPTABLE_METHOD;
  return Uint8Array.of(SOCKS_VERSION, method);
}

export type SocksAddressType = 'ipv4' | 'domain' | 'ipv6';

export interface SocksRequest {
  readonly host: string;
  readonly port: number;
  readonly addressType: SocksAddressType;
}

const COMMAND_CONNECT = 0x01;
const ATYP_IPV4 = 0x01;
const ATYP_DOMAIN = 0x03;
const ATYP_IPV6 = 0x04;
/** Printable ASCII without spaces: what a hostname (or an IP literal) can be. */
const DOMAIN = /^[\x21-\x7e]+$/;

/** The client's request: VER CMD RSV ATYP DST.ADDR DST.PORT. */
export function parseRequest(
  bytes: Uint8Array,
): { request: SocksRequest; length: number } | undefined {
  if (bytes.length < 4) {
    if (bytes.length >= 1 && bytes[0] !== SOCKS_VERSION) {
      throw new SocksError(SOCKS_REPLY.generalFailure, 'a request must start with version 5');
    }
    return undefined;
  }
  const [version, command, reserved, type] = bytes;
  if (version !== SOCKS_VERSION) {
    throw new SocksError(SOCKS_REPLY.generalFailure, 'a request must start with version 5');
  }
  if (reserved !== 0x00) throw new SocksError(SOCKS_REPLY.generalFailure, 'reserved byte not 0');
  let host: string;
  let at: number;
  let addressType: SocksAddressType;
  if (type === ATYP_IPV4) {
    if (bytes.length < 4 + 4 + 2) return undefined;
    host = [...bytes.subarray(4, 8)].join('.');
    at = 8;
    addressType = 'ipv4';
  } else if (type === ATYP_DOMAIN) {
    if (bytes.length < 5) return undefined;
    const length = bytes[4] ?? 0;
    if (length === 0) throw new SocksError(SOCKS_REPLY.generalFailure, 'empty domain name');
    if (bytes.length < 5 + length + 2) return undefined;
    host = String.fromCharCode(...bytes.subarray(5, 5 + length));
    if (!DOMAIN.test(host)) {
      throw new SocksError(SOCKS_REPLY.generalFailure, 'the domain name has bytes a name cannot');
    }
    at = 5 + length;
    addressType = 'domain';
  } else if (type === ATYP_IPV6) {
    if (bytes.length < 4 + 16 + 2) return undefined;
    host = formatIpv6(bytes.subarray(4, 20));
    at = 20;
    addressType = 'ipv6';
  } else {
    throw new SocksError(SOCKS_REPLY.addressTypeNotSupported, `address type ${type ?? 0}`);
  }
  // The address is parsed first so that the whole request is consumed before refusing.
  if (command !== COMMAND_CONNECT) {
    throw new SocksError(SOCKS_REPLY.commandNotSupported, 'only CONNECT is supported');
  }
  const port = ((bytes[at] ?? 0) << 8) | (bytes[at + 1] ?? 0);
  if (port === 0) throw new SocksError(SOCKS_REPLY.generalFailure, 'port 0');
  return { request: { host, port, addressType }, length: at + 2 };
}

/** A reply with the bound address left as 0.0.0.0:0: the real one is the egress's. */
export function encodeReply(code: SocksReplyCode): Uint8Array {
  return Uint8Array.of(SOCKS_VERSION, code, 0x00, ATYP_IPV4, 0, 0, 0, 0, 0, 0);
}
