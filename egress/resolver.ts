/**
 * Name resolution for the destination policy. Resolution happens once per stream and the
 * stream connects to one of exactly these addresses, so a second lookup (DNS rebinding) never
 * gets a say. The lookup is injectable so that tests never ask real DNS anything.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { StreamFailure } from './errors.ts';
import { parseResolvedAddress, type IpAddress } from '../server-kit/ip-address.ts';

/** Returns the addresses of `hostname` as text; rejects (any error) when it has none. */
export type LookupFunction = (hostname: string) => Promise<readonly string[]>;

export const systemLookup: LookupFunction = async (hostname) => {
  const results = await dnsLookup(hostname, { all: true, verbatim: true });
  return results.map((r) => r.address);
};

/** A lookup from a fixed table, for tests and for pinning names in development. */
export function tableLookup(table: Readonly<Record<string, readonly string[]>>): LookupFunction {
  return (hostname) => {
    const found = Object.hasOwn(table, hostname) ? table[hostname] : undefined;
    if (found === undefined || found.length === 0) {
      return Promise.reject(
        Object.assign(new Error(`${hostname} not in the table`), { code: 'ENOTFOUND' }),
      );
    }
    return Promise.resolve(found);
  };
}

/** Resolves `hostname` with `lookup` within `timeoutMs`; every answer must be an IP literal. */
export async function resolveName(
  lookup: LookupFunction,
  hostname: string,
  timeoutMs: number,
): Promise<IpAddress[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new StreamFailure('ERR_EGRESS_TIMEOUT', `resolving ${hostname} timed out`)),
      timeoutMs,
    );
    timer.unref();
  });
  let answers: readonly string[];
  try {
    answers = await Promise.race([lookup(hostname), timeout]);
  } catch (err) {
    if (err instanceof StreamFailure) throw err;
    throw new StreamFailure('ERR_EGRESS_UNREACHABLE', `${hostname} does not resolve`);
  } finally {
    clearTimeout(timer);
  }
  const addresses: IpAddress[] = [];
  for (const text of answers) {
    const address = parseResolvedAddress(text);
    if (address === undefined) {
      throw new StreamFailure('ERR_EGRESS_UNREACHABLE', `${hostname} resolved to a non-address`);
    }
    addresses.push(address);
  }
  if (addresses.length === 0) {
    throw new StreamFailure('ERR_EGRESS_UNREACHABLE', `${hostname} has no addresses`);
  }
  return addresses;
}
