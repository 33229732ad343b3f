/**
 * JSON shapes of the signaling server's matchmaking API: volunteer polls, consumer matches, NAT
 * probes, error bodies and the egress list they share with `GET {path}v1/config` (whose body
 * lives in signaling-config.ts). Each parser takes already-parsed JSON (`unknown`, see
 * `parseJsonBody`) and returns a fresh typed value holding only the known fields, or throws
 * `SchemaError` with `path` naming the field. Unknown fields are ignored, so an older peer can
 * talk to a newer one. The server checks what it receives and clients check what they get
 * back: a compromised or broken server must not crash a volunteer's tab either.
 */
import { MAX_ADMISSION_TOKEN_BYTES } from './admission.ts';
import { parseJsonText } from './json-text.ts';
import { MAX_SIGNALING_MESSAGE_BYTES } from './limits.ts';
import {
  isValidPeerId,
  isValidToken,
  MAX_PEER_ID_LENGTH,
  MAX_TOKEN_LENGTH,
} from './peerjs-messages.ts';
import {
  childPath,
  expectArray,
  expectInteger,
  expectOneOf,
  expectRecord,
  expectString,
  expectStringWhere,
  invalid,
  readField,
} from './schema-fields.ts';

/**
 * How reachable a peer is, as Snowflake's broker sorts them: a restricted (or unknown) NAT on
 * both ends rarely connects, so such consumers only get unrestricted volunteers.
 */
export const NAT_TYPES = ['unrestricted', 'restricted', 'unknown'] as const;
export type NatType = (typeof NAT_TYPES)[number];

export const VOLUNTEER_KINDS = ['browser', 'node'] as const;
export type VolunteerKind = (typeof VOLUNTEER_KINDS)[number];

/** Error codes of a matchmaking error body, each with the HTTP status it is sent with. */
export const MATCHMAKING_ERRORS = [
  ['bad-request', 400],
  ['unauthorized', 401],
  /** A page's `Origin` is not on the server's allow-list (`--cors`). */
  ['origin-not-allowed', 403],
  ['not-found', 404],
  ['method-not-allowed', 405],
  ['too-large', 413],
  ['rate-limited', 429],
  /** The caller's id or address holds all the introductions it may (a fair share). */
  ['fair-share', 429],
  ['internal', 500],
  ['no-volunteers', 503],
] as const;
export type MatchmakingErrorCode = (typeof MATCHMAKING_ERRORS)[number][0];
export const MATCHMAKING_ERROR_CODES: readonly MatchmakingErrorCode[] = MATCHMAKING_ERRORS.map(
  ([code]) => code,
);

export function matchmakingErrorStatus(code: MatchmakingErrorCode): number {
  const entry = MATCHMAKING_ERRORS.find(([known]) => known === code);
  return entry === undefined ? 500 : entry[1];
}

/** Most consumers one volunteer serves at once. */
export const MAX_VOLUNTEER_SLOTS = 64;
/** Most volunteers one consumer asks for in one match. */
export const MAX_MATCH_COUNT = 8;
/** Most volunteers a consumer lists as connected (`have`) in a match request. */
export const MAX_HAVE = 32;
export const MAX_EGRESSES = 32;
export const MAX_EGRESS_ID_LENGTH = 64;
export const MAX_EGRESS_URL_LENGTH = 2048;
export const MAX_ERROR_MESSAGE_LENGTH = 1024;
export interface VolunteerPollRequest {
  readonly id: string;
  readonly token: string;
  readonly slots: number;
  readonly nat: NatType;
  readonly kind: VolunteerKind;
  readonly pool?: string;
}

export interface VolunteerMatch {
  /** The consumer's PeerJS id; the volunteer accepts a connection from this id only. */
  readonly consumer: string;
  /** The consumer's country, for the volunteer's globe. */
  readonly cc: string;
}

export interface VolunteerPollResponse {
  readonly match: VolunteerMatch | null;
}

export interface ConsumerMatchRequest {
  readonly id: string;
  readonly token: string;
  readonly count: number;
  readonly nat: NatType;
  readonly pool?: string;
  /**
   * The volunteers this consumer has a tunnel through (or is opening one through) now. With
   * it the server introduces none of them again, and may introduce one the consumer has lost
   * at once; without it, a volunteer that answered the consumer is not introduced to it again
   * until the match hold has passed.
   */
  readonly have?: readonly string[];
  /**
   * Volunteers the consumer could not connect to since its last request: the server does not
   * introduce the pair again for a while.
   */
  readonly failed?: readonly string[];
}

/** `POST v1/nat-probe`: the mapped addresses the peer's ICE gathering found. */
export interface NatProbeRequest {
  readonly id: string;
  readonly token: string;
  /** `ip:port` or `[ipv6]:port`, as the STUN responders reported them (server-reflexive). */
  readonly mapped: readonly string[];
}

export interface NatProbeResponse {
  /** What the server saw; `unknown` when it saw none of the addresses. */
  readonly nat: NatType;
}

/** Where the NAT probe listens: two `stun:` URLs (one host, two ports). */
export interface NatProbeInfo {
  readonly urls: readonly string[];
}

export interface VolunteerRef {
  readonly id: string;
}

export interface EgressInfo {
  readonly id: string;
  /** Base URL; volunteers append `tunnel/`, standard Wisp clients `wisp/`. */
  readonly url: string;
  /** The egress's static X25519 key for Noise NK, unpadded base64url. */
  readonly publicKey: string;
  /**
   * In a match response only: an admission token for this egress (admission.ts), unpadded
   * base64url, which the consumer carries in its tunnel handshakes. Absent when the signaling
   * server issues none.
   */
  readonly admission?: string;
}

export interface ConsumerMatchResponse {
  readonly volunteers: readonly VolunteerRef[];
  readonly egresses: readonly EgressInfo[];
}

export interface MatchmakingError {
  readonly error: MatchmakingErrorCode;
  readonly message?: string;
}

const COUNTRY = /^(?:[A-Z]{2}|\?\?)$/;
/** A private pool tag: 32 bytes (a hash of the passphrase) in lowercase hex. */
const POOL = /^[0-9a-f]{64}$/;
const EGRESS_ID = /^[A-Za-z0-9._-]+$/;
/** 32 bytes in unpadded base64url; the last character carries two bits, the rest zero. */
const PUBLIC_KEY = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** ISO 3166-1 alpha-2 shape (two uppercase letters) or `??` for unknown. */
export function isCountryCode(cc: string): boolean {
  return COUNTRY.test(cc);
}

export function isPoolTag(pool: string): boolean {
  return POOL.test(pool);
}

/**
 * A `ws:` or `wss:` URL in canonical form (exactly what `new URL(url).href` prints), with a
 * path ending in `/` and no credentials, query or fragment. Canonical, so one egress has one
 * spelling and the text shown is the text dialled.
 */
export function isEgressUrl(url: string): boolean {
  if (url.length > MAX_EGRESS_URL_LENGTH) return false;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  return (
    (parsed.protocol === 'ws:' || parsed.protocol === 'wss:') &&
    parsed.href === url &&
    parsed.username === '' &&
    parsed.password === '' &&
    !url.includes('?') &&
    !url.includes('#') &&
    url.endsWith('/')
  );
}

/** Parses a request or response body: size checked before `JSON.parse`. */
export function parseJsonBody(text: string): unknown {
  return parseJsonText(text, MAX_SIGNALING_MESSAGE_BYTES, 'body');
}

export function parseVolunteerPollRequest(body: unknown): VolunteerPollRequest {
  const record = expectRecord(body, '');
  const request = {
    ...readCredentials(record),
    slots: expectInteger(readField(record, 'slots'), 'slots', 0, MAX_VOLUNTEER_SLOTS),
    nat: expectOneOf(readField(record, 'nat'), 'nat', NAT_TYPES),
    kind: expectOneOf(readField(record, 'kind'), 'kind', VOLUNTEER_KINDS),
  };
  const pool = readPool(record);
  return pool === undefined ? request : { ...request, pool };
}

export function parseVolunteerPollResponse(body: unknown): VolunteerPollResponse {
  const record = expectRecord(body, '');
  const match = readField(record, 'match');
  if (match === null) return { match: null };
  const fields = expectRecord(match, 'match');
  return {
    match: {
      consumer: expectId(readField(fields, 'consumer'), 'match.consumer'),
      cc: expectCountry(readField(fields, 'cc'), 'match.cc'),
    },
  };
}

export function parseConsumerMatchRequest(body: unknown): ConsumerMatchRequest {
  const record = expectRecord(body, '');
  const request = {
    ...readCredentials(record),
    count: expectInteger(readField(record, 'count'), 'count', 1, MAX_MATCH_COUNT),
    nat: expectOneOf(readField(record, 'nat'), 'nat', NAT_TYPES),
  };
  const pool = readPool(record);
  const have = readIds(record, 'have');
  const failed = readIds(record, 'failed');
  return {
    ...request,
    ...(pool === undefined ? {} : { pool }),
    ...(have === undefined ? {} : { have }),
    ...(failed === undefined ? {} : { failed }),
  };
}

function readIds(record: object, name: string): string[] | undefined {
  const field = readField(record, name);
  if (field === undefined) return undefined;
  return expectArray(field, name, 0, MAX_HAVE).map((id, index) =>
    expectId(id, childPath(name, index)),
  );
}

/** At most this many mapped addresses in a NAT probe report. */
export const MAX_NAT_MAPPED = 16;
const MAPPED = /^(?:\[[0-9A-Fa-f:.]{2,45}\]|[0-9.]{7,15}):\d{1,5}$/;

export function parseNatProbeRequest(body: unknown): NatProbeRequest {
  const record = expectRecord(body, '');
  return {
    ...readCredentials(record),
    mapped: expectArray(readField(record, 'mapped'), 'mapped', 0, MAX_NAT_MAPPED).map(
      (item, index) =>
        expectString(item, childPath('mapped', index), {
          minLength: 9,
          maxLength: 53,
          pattern: MAPPED,
          describe: 'ip:port or [ipv6]:port',
        }),
    ),
  };
}

export function parseNatProbeResponse(body: unknown): NatProbeResponse {
  const record = expectRecord(body, '');
  return { nat: expectOneOf(readField(record, 'nat'), 'nat', NAT_TYPES) };
}

/** A match holds at least one volunteer; "none" is an error body (`no-volunteers`). */
export function parseConsumerMatchResponse(body: unknown): ConsumerMatchResponse {
  const record = expectRecord(body, '');
  const items = expectArray(readField(record, 'volunteers'), 'volunteers', 1, MAX_MATCH_COUNT);
  const volunteers = items.map((item, index): VolunteerRef => {
    const path = childPath('volunteers', index);
    return { id: expectId(readField(expectRecord(item, path), 'id'), childPath(path, 'id')) };
  });
  rejectDuplicates(
    volunteers.map((volunteer) => volunteer.id),
    'volunteers',
  );
  return { volunteers, egresses: readEgresses(record) };
}

export function parseMatchmakingError(body: unknown): MatchmakingError {
  const record = expectRecord(body, '');
  const error = expectOneOf(readField(record, 'error'), 'error', MATCHMAKING_ERROR_CODES);
  const message = readField(record, 'message');
  if (message === undefined) return { error };
  return {
    error,
    message: expectString(message, 'message', {
      minLength: 0,
      maxLength: MAX_ERROR_MESSAGE_LENGTH,
    }),
  };
}

export function parseEgressInfo(value: unknown, path = ''): EgressInfo {
  const record = expectRecord(value, path);
  return {
    id: expectString(readField(record, 'id'), childPath(path, 'id'), {
      minLength: 1,
      maxLength: MAX_EGRESS_ID_LENGTH,
      pattern: EGRESS_ID,
      describe: 'letters, digits, ".", "_" or "-"',
    }),
    url: expectStringWhere(
      readField(record, 'url'),
      childPath(path, 'url'),
      isEgressUrl,
      'a canonical ws: or wss: URL ending in "/", without credentials, query or fragment',
    ),
    publicKey: expectString(readField(record, 'publicKey'), childPath(path, 'publicKey'), {
      minLength: 43,
      maxLength: 43,
      pattern: PUBLIC_KEY,
      describe: '32 bytes in canonical unpadded base64url',
    }),
    ...readAdmission(record, path),
  };
}

function readAdmission(record: object, path: string): { admission?: string } {
  const value = readField(record, 'admission');
  if (value === undefined) return {};
  return {
    admission: expectString(value, childPath(path, 'admission'), {
      minLength: 1,
      maxLength: Math.ceil((MAX_ADMISSION_TOKEN_BYTES * 4) / 3),
      pattern: BASE64URL,
      describe: 'unpadded base64url',
    }),
  };
}

/** The `egresses` list of a match response or of the client config, ids unique. */
export function readEgresses(record: object): readonly EgressInfo[] {
  const items = expectArray(readField(record, 'egresses'), 'egresses', 0, MAX_EGRESSES);
  const egresses = items.map((item, index) => parseEgressInfo(item, childPath('egresses', index)));
  // A consumer names its egress by id in HELLO; two entries with one id would be ambiguous.
  rejectDuplicates(
    egresses.map((egress) => egress.id),
    'egresses',
  );
  return egresses;
}

function rejectDuplicates(ids: readonly string[], path: string): void {
  const seen = new Set<string>();
  ids.forEach((id, index) => {
    if (seen.has(id))
      throw invalid(childPath(childPath(path, index), 'id'), 'repeats an earlier id');
    seen.add(id);
  });
}

function readPool(record: object): string | undefined {
  const pool = readField(record, 'pool');
  if (pool === undefined) return undefined;
  return expectString(pool, 'pool', {
    minLength: 64,
    maxLength: 64,
    pattern: POOL,
    describe: '64 lowercase hex digits',
  });
}

function expectId(value: unknown, path: string): string {
  return expectStringWhere(
    value,
    path,
    isValidPeerId,
    `a PeerJS id (1 to ${MAX_PEER_ID_LENGTH} characters)`,
  );
}

/** The PeerJS id and token every request names its sender with. */
function readCredentials(record: object): { id: string; token: string } {
  return {
    id: expectId(readField(record, 'id'), 'id'),
    token: expectStringWhere(
      readField(record, 'token'),
      'token',
      isValidToken,
      `1 to ${MAX_TOKEN_LENGTH} printable ASCII characters without spaces`,
    ),
  };
}

/** A country code field: two uppercase letters or `??` (see `isCountryCode`). */
export function expectCountry(value: unknown, path: string): string {
  return expectStringWhere(value, path, isCountryCode, 'two uppercase letters or "??"');
}
