/**
 * `GET {path}v1/config`, the signaling server's client config: ICE servers, the egress list, the
 * limits a client sizes its buffers and timers to, the caller's country and the NAT probe. Like
 * the matchmaking bodies (matchmaking.ts), `parseSignalingConfig` takes already-parsed JSON and
 * returns a fresh typed value holding only the known fields, or throws `SchemaError` with `path`
 * naming the field; unknown fields are ignored.
 */
import { MAX_SIGNALING_MESSAGE_BYTES, MAX_TUNNEL_MESSAGE_BYTES } from './limits.ts';
import {
  expectCountry,
  MAX_MATCH_COUNT,
  MAX_VOLUNTEER_SLOTS,
  readEgresses,
  type EgressInfo,
  type NatProbeInfo,
} from './matchmaking.ts';
import {
  childPath,
  expectArray,
  expectInteger,
  expectRecord,
  expectString,
  invalid,
  readField,
} from './schema-fields.ts';

export const MAX_ICE_SERVERS = 16;
export const MAX_ICE_URLS = 8;
/** Longest ICE URL, username or credential (TURN REST credentials are about 100 characters). */
export const MAX_ICE_TEXT_LENGTH = 512;
/** Longest wait a server may announce (long polls, alive timeout): one hour. */
export const MAX_ANNOUNCED_TIMEOUT_MS = 3_600_000;

/** Assignable to the DOM's `RTCIceServer`, hence mutable arrays. */
export interface IceServer {
  readonly urls: string | string[];
  readonly username?: string;
  readonly credential?: string;
}

/** What a client needs to size its own buffers and timers to the server's. */
export interface SignalingLimits {
  /** Largest tunnel message (one data-channel message), at most `MAX_TUNNEL_MESSAGE_BYTES`. */
  readonly maxTunnelMessageBytes: number;
  /** Largest PeerJS message or matchmaking body the server accepts. */
  readonly maxSignalingMessageBytes: number;
  /** Largest `count` of a consumer match. */
  readonly maxConsumerVolunteers: number;
  /** Largest `slots` of a volunteer poll. */
  readonly maxVolunteerSlots: number;
  /** How long the server holds a volunteer poll open. */
  readonly pollTimeoutMs: number;
  /** How long the server holds a consumer match open. */
  readonly matchTimeoutMs: number;
  /** Silence after which a PeerJS id is freed; heartbeats must come more often. */
  readonly aliveTimeoutMs: number;
}

export interface SignalingConfig {
  readonly iceServers: IceServer[];
  readonly egresses: readonly EgressInfo[];
  readonly limits: SignalingLimits;
  /** The caller's country, `??` when unknown. */
  readonly country: string;
  /** Countries where volunteering is unsafe: a volunteer there is told not to share. */
  readonly censored?: readonly string[];
  /** The server's NAT probe, when it runs one (docs/signaling.md, "NAT discovery"). */
  readonly natProbe?: NatProbeInfo;
}

const ICE_URL = /^(?:stun|stuns|turn|turns):[^\s]+$/;
const TURN_URL = /^turns?:/;

export function parseSignalingConfig(body: unknown): SignalingConfig {
  const record = expectRecord(body, '');
  const servers = expectArray(readField(record, 'iceServers'), 'iceServers', 0, MAX_ICE_SERVERS);
  return {
    iceServers: servers.map((server, index) =>
      parseIceServer(server, childPath('iceServers', index)),
    ),
    egresses: readEgresses(record),
    limits: parseLimits(readField(record, 'limits')),
    country: expectCountry(readField(record, 'country'), 'country'),
    ...readCensored(record),
    ...readNatProbe(record),
  };
}

function readNatProbe(record: object): { natProbe?: NatProbeInfo } {
  const raw = readField(record, 'natProbe');
  if (raw === undefined) return {};
  const urls = expectArray(readField(expectRecord(raw, 'natProbe'), 'urls'), 'natProbe.urls', 2, 2);
  return {
    natProbe: {
      urls: urls.map((url, index) =>
        expectString(url, childPath('natProbe.urls', index), {
          minLength: 6,
          maxLength: 300,
          pattern: /^stun:[^\s/?#]+$/,
          describe: 'a stun: URL',
        }),
      ),
    },
  };
}

const MAX_CENSORED = 300;

function readCensored(record: object): { censored?: string[] } {
  const raw = readField(record, 'censored');
  if (raw === undefined) return {};
  const list = expectArray(raw, 'censored', 0, MAX_CENSORED);
  return { censored: list.map((cc, index) => expectCountry(cc, childPath('censored', index))) };
}

function parseIceServer(value: unknown, path: string): IceServer {
  const record = expectRecord(value, path);
  const urlsPath = childPath(path, 'urls');
  const rawUrls = readField(record, 'urls');
  const urls =
    typeof rawUrls === 'string'
      ? expectIceUrl(rawUrls, urlsPath)
      : expectArray(rawUrls, urlsPath, 1, MAX_ICE_URLS).map((url, index) =>
          expectIceUrl(url, childPath(urlsPath, index)),
        );
  const username = readOptionalIceText(record, 'username', path);
  const credential = readOptionalIceText(record, 'credential', path);
  // RTCPeerConnection throws on a TURN server without both, which would stop every peer.
  const turn = (typeof urls === 'string' ? [urls] : urls).some((url) => TURN_URL.test(url));
  if (turn && (username === undefined || credential === undefined)) {
    throw invalid(
      childPath(path, username === undefined ? 'username' : 'credential'),
      'is required for a TURN server',
    );
  }
  return {
    urls,
    ...(username === undefined ? {} : { username }),
    ...(credential === undefined ? {} : { credential }),
  };
}

function expectIceUrl(value: unknown, path: string): string {
  return expectString(value, path, {
    minLength: 1,
    maxLength: MAX_ICE_TEXT_LENGTH,
    pattern: ICE_URL,
    describe: 'a stun:, stuns:, turn: or turns: URL',
  });
}

function readOptionalIceText(record: object, key: string, path: string): string | undefined {
  const value = readField(record, key);
  if (value === undefined) return undefined;
  return expectString(value, childPath(path, key), {
    minLength: 0,
    maxLength: MAX_ICE_TEXT_LENGTH,
  });
}

function parseLimits(value: unknown): SignalingLimits {
  const record = expectRecord(value, 'limits');
  const limit = (key: string, max: number): number =>
    expectInteger(readField(record, key), childPath('limits', key), 1, max);
  return {
    maxTunnelMessageBytes: limit('maxTunnelMessageBytes', MAX_TUNNEL_MESSAGE_BYTES),
    maxSignalingMessageBytes: limit('maxSignalingMessageBytes', MAX_SIGNALING_MESSAGE_BYTES),
    maxConsumerVolunteers: limit('maxConsumerVolunteers', MAX_MATCH_COUNT),
    maxVolunteerSlots: limit('maxVolunteerSlots', MAX_VOLUNTEER_SLOTS),
    pollTimeoutMs: limit('pollTimeoutMs', MAX_ANNOUNCED_TIMEOUT_MS),
    matchTimeoutMs: limit('matchTimeoutMs', MAX_ANNOUNCED_TIMEOUT_MS),
    aliveTimeoutMs: limit('aliveTimeoutMs', MAX_ANNOUNCED_TIMEOUT_MS),
  };
}
