/**
 * The destination policy, shared by TCP, UDP and fetch streams: resolve once, check every
 * resolved address, and hand back the one exact address to connect to. Anything not globally
 * routable is refused (CLOSE 0x48) unless the allow list names it.
 */
import { classifyAddress } from './address-ranges.ts';
import { StreamFailure, type PolicyRefusal } from './errors.ts';
import {
  endsInNumber,
  parseIpLiteral,
  sameAddress,
  type IpAddress,
} from '../server-kit/ip-address.ts';
import { resolveName, type LookupFunction } from './resolver.ts';

/** One `--allow HOST:PORT` entry. A name matches the requested name; an address, the resolved one. */
export type AllowEntry =
  | { readonly kind: 'name'; readonly name: string; readonly port: number }
  | { readonly kind: 'address'; readonly address: IpAddress; readonly port: number };

export interface DestinationPolicyOptions {
  readonly lookup: LookupFunction;
  readonly allow: readonly AllowEntry[];
  /** Allows every non-public address class (development only); denied ports still apply. */
  readonly allowPrivate: boolean;
  readonly deniedPorts: readonly number[];
  readonly resolveTimeoutMs: number;
}

export interface Destination {
  /** The requested name, normalised (lowercase, no brackets, no trailing dot). */
  readonly host: string;
  readonly address: IpAddress;
  readonly port: number;
}

function blocked(refusal: PolicyRefusal, message: string): StreamFailure {
  return new StreamFailure('ERR_EGRESS_BLOCKED', message, refusal);
}

/** Lowercase, without IPv6 brackets or the root label's trailing dot. */
export function normalizeHost(host: string): string {
  let out = host.toLowerCase();
  if (out.startsWith('[') && out.endsWith(']')) out = out.slice(1, -1);
  if (out.length > 1 && out.endsWith('.') && !out.endsWith('..')) out = out.slice(0, -1);
  return out;
}

const DNS_NAME =
  /^(?=.{1,253}$)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

/** Parses `HOST:PORT` (`[v6]:PORT` for IPv6) into an allow-list entry; throws a RangeError. */
export function parseAllowEntry(text: string): AllowEntry {
  const match = /^(\[[^\]]+\]|[^:[\]]+):([0-9]{1,5})$/.exec(text);
  const port = Number(match?.[2]);
  if (match === null || !(port >= 1 && port <= 65535)) {
    throw new RangeError(`allow entry ${JSON.stringify(text)}: expected HOST:PORT`);
  }
  const host = normalizeHost(match[1] ?? '');
  const literal = parseIpLiteral(host);
  if (literal !== undefined) {
    if (!literal.canonical) {
      throw new RangeError(`allow entry ${JSON.stringify(text)}: write the address canonically`);
    }
    return { kind: 'address', address: literal.address, port };
  }
  if (!DNS_NAME.test(host)) {
    throw new RangeError(`allow entry ${JSON.stringify(text)}: not a host name`);
  }
  return { kind: 'name', name: host, port };
}

export class DestinationPolicy {
  readonly #options: DestinationPolicyOptions;

  constructor(options: DestinationPolicyOptions) {
    this.#options = options;
  }

  #nameAllowed(host: string, port: number): boolean {
    return this.#options.allow.some((e) => e.kind === 'name' && e.name === host && e.port === port);
  }

  #addressAllowed(address: IpAddress, port: number): boolean {
    return this.#options.allow.some(
      (e) => e.kind === 'address' && e.port === port && sameAddress(e.address, address),
    );
  }

  /**
   * Resolves and checks `host:port`. Throws a StreamFailure: ERR_EGRESS_BLOCKED (0x48) for a
   * policy refusal, ERR_EGRESS_INVALID for a host that is neither a name nor an address,
   * ERR_EGRESS_UNREACHABLE / ERR_EGRESS_TIMEOUT when the name does not resolve.
   */
  async check(requestedHost: string, port: number): Promise<Destination> {
    const host = normalizeHost(requestedHost);
    const nameAllowed = this.#nameAllowed(host, port);
    const literal = parseIpLiteral(host);
    let addresses: IpAddress[];
    if (literal !== undefined) {
      // Another spelling of an address is how filters get walked around; nobody needs one.
      if (!literal.canonical) throw blocked('odd-spelling', `${host} is an odd IPv4 spelling`);
      addresses = [literal.address];
    } else if (endsInNumber(host) || !DNS_NAME.test(host)) {
      throw new StreamFailure('ERR_EGRESS_INVALID', `${host} is not a host name or address`);
    } else if (!nameAllowed && (host === 'localhost' || host.endsWith('.localhost'))) {
      throw blocked('loopback', `${host} is a loopback name`);
    } else {
      addresses = await resolveName(this.#options.lookup, host, this.#options.resolveTimeoutMs);
    }
    for (const address of addresses) {
      if (nameAllowed || this.#addressAllowed(address, port)) continue;
      if (this.#options.deniedPorts.includes(port)) {
        throw blocked('port', `port ${port} is denied`);
      }
      const refusal = this.#options.allowPrivate ? undefined : classifyAddress(address);
      if (refusal !== undefined) {
        throw blocked(refusal, `${host} resolves to a ${refusal} address`);
      }
    }
    const [address] = addresses;
    if (address === undefined) throw new StreamFailure('ERR_EGRESS_UNREACHABLE', `${host}: none`);
    return { host, address, port };
  }
}
