/**
 * The /netstate/ page's view of the signaling server's `v1/netstate` answer: the JSON is checked
 * field by field at the boundary (`parseNetstateBody`, protocol/netstate.ts, the one home of the
 * shape the server writes), before anything is drawn.
 */
import { CodedError, SchemaError } from '../../protocol/errors.ts';
import {
  NETSTATE_UNKNOWN_COUNTRY,
  parseNetstateBody,
  type NetstateBody,
} from '../../protocol/netstate.ts';

export type NetstateErrorCode =
  /** The request failed: offline, refused, timed out. */
  | 'ERR_NETSTATE_UNREACHABLE'
  /** The server answered with a status other than 200. */
  | 'ERR_NETSTATE_STATUS'
  /** The body is not JSON or not the documented shape. */
  | 'ERR_NETSTATE_INVALID';

export class NetstateError extends CodedError<NetstateErrorCode> {
  override name = 'NetstateError';
}

export interface Netstate {
  readonly generatedAt: Date;
  readonly volunteers: NetstateBody['volunteers'];
  readonly consumers: NetstateBody['consumers'];
  readonly pairs: NetstateBody['matchedPairs'];
}

export function parseNetstate(value: unknown): Netstate {
  let body: NetstateBody;
  try {
    body = parseNetstateBody(value);
  } catch (err) {
    if (!(err instanceof SchemaError)) throw err;
    throw new NetstateError(
      'ERR_NETSTATE_INVALID',
      `the network state is malformed: ${err.message}`,
      { cause: err },
    );
  }
  return {
    generatedAt: new Date(body.generatedAt),
    volunteers: body.volunteers,
    consumers: body.consumers,
    pairs: body.matchedPairs,
  };
}

let displayNames: Intl.DisplayNames | undefined;

/** A country's English name from the browser's own data (no request); `ZZ` is "Unknown". */
export function countryName(code: string): string {
  if (code === NETSTATE_UNKNOWN_COUNTRY) return 'Unknown';
  try {
    displayNames ??= new Intl.DisplayNames(['en'], { type: 'region', fallback: 'code' });
    return displayNames.of(code) ?? code;
  } catch {
    return code;
  }
}
