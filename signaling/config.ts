/**
 * The server's options: what a caller may pass, the defaults, and the checks that turn them
 * into a complete, valid `SignalingSettings`. Every bound on what strangers can make the
 * server hold lives here, so one table documents them all (docs/signaling.md).
 */
import { admissionProblem, type AdmissionIssuing } from './admission-issuer.ts';
import { MAX_SIGNALING_MESSAGE_BYTES, MAX_TUNNEL_MESSAGE_BYTES } from '../protocol/limits.ts';
import {
  MAX_MATCH_COUNT,
  MAX_VOLUNTEER_SLOTS,
  parseEgressInfo,
  type EgressInfo,
  type NatProbeInfo,
} from '../protocol/matchmaking.ts';
import {
  MAX_ANNOUNCED_TIMEOUT_MS,
  parseSignalingConfig,
  type IceServer,
} from '../protocol/signaling-config.ts';
import { isValidPeerjsKey } from '../protocol/peerjs-messages.ts';
import { SchemaError } from '../protocol/errors.ts';
import { SignalingError } from './errors.ts';
import type { Logger } from '../server-kit/logger.ts';
import type { SignalingStore } from './store.ts';

export interface GeoipFiles {
  /** IPv4 ranges: `LOW,HIGH,CC` with integer addresses (Tor `geoip`, ip-location-db `-num`). */
  readonly ipv4?: string;
  /** IPv6 ranges: `LOW,HIGH,CC` with IPv6 text (Tor `geoip6`) or integers (ip-location-db). */
  readonly ipv6?: string;
}

export interface RateLimit {
  /** Requests (or connections) one address may make at once. */
  readonly burst: number;
  /** How fast that allowance refills. */
  readonly perSecond: number;
}

export interface SignalingOptions {
  /** Prefix of every route; must start and end with `/`. */
  readonly path?: string;
  /** The PeerJS API key clients must present. */
  readonly key?: string;
  readonly egresses?: readonly EgressInfo[];
  /** Country codes where volunteering is unsafe; `/v1/config` tells volunteers there not to share. */
  readonly censoredCountries?: readonly string[];
  readonly iceServers?: readonly IceServer[];
  /** Let a consumer be matched with a volunteer at its own address (on for `bu serve`). */
  readonly allowSameIp?: boolean;
  /**
   * Match regardless of NAT types (on for `bu serve`, where everything runs on one machine and
   * NAT does not matter). Off by default: restricted and unknown consumers then get only
   * unrestricted volunteers.
   */
  readonly ignoreNat?: boolean;
  /**
   * Sign an admission token for each egress into every match (admission-issuer.ts); egresses
   * that require admission carry only consumers with one. Absent: no tokens.
   */
  readonly admission?: AdmissionIssuing;
  /**
   * Run the NAT probe (nat-probe.ts): two STUN responders on UDP `natProbePort` and the next
   * port (0: two ports the system picks), bound to `natProbeBind`. Absent: no probe.
   */
  readonly natProbePort?: number;
  readonly natProbeBind?: string;
  /** The host name clients reach the probe at; absent: the Host of their config request. */
  readonly natProbeHost?: string;
  /** Origins allowed by CORS and on WebSockets; absent means echo any origin. */
  readonly cors?: readonly string[];
  /** `GET {path}{key}/peers` lists connected ids (off, as in the stock server). */
  readonly allowDiscovery?: boolean;
  /** Most PeerJS ids connected at once. */
  readonly concurrentLimit?: number;
  /** Silence after which a PeerJS id is freed. */
  readonly aliveTimeoutMs?: number;
  /** How long a message waits for an offline destination before EXPIRE. */
  readonly expireTimeoutMs?: number;
  /** How long a volunteer poll is held open. */
  readonly pollTimeoutMs?: number;
  /** How long a consumer match waits for a volunteer. */
  readonly matchTimeoutMs?: number;
  /** How long a volunteer that stopped polling stays in the registry. */
  readonly volunteerTimeoutMs?: number;
  /** Country database; `false` turns country lookup off (everyone is `??`). */
  readonly geoip?: GeoipFiles | false;
  /** Messages queued for one offline id. */
  readonly maxQueuedPerDestination?: number;
  /** Bytes queued for all offline ids together. */
  readonly maxQueuedBytes?: number;
  /** Long polls and matches held open at once, over all callers. */
  readonly maxWaiting?: number;
  /** Bytes a socket may have unsent before a send to it counts as failed. */
  readonly maxBufferedBytes?: number;
  /** Per-address allowance for WebSocket connections, and separately for HTTP requests. */
  readonly rateLimit?: RateLimit;
  /** IPv6 addresses sharing this many leading bits count as one address (64). */
  readonly ipv6Prefix?: number;
  /** PeerJS ids one address may hold connected at once. */
  readonly maxIdsPerAddress?: number;
  /** Outstanding introductions one consumer id may hold. */
  readonly maxMatchesPerConsumer?: number;
  /** Most outstanding introductions one address may hold, as consumer or as volunteer. */
  readonly maxMatchesPerAddress?: number;
  /** An address's share of its pool's capacity, in percent (within the two limits above). */
  readonly addressSharePercent?: number;
  /** How long an introduction counts as outstanding: what a volunteer waits for its consumer. */
  readonly matchHoldMs?: number;
  /** Slots a volunteer may claim (more are capped), and introductions it may hold at once. */
  readonly maxVolunteerSlots?: number;
  /** Bytes one address's messages may take in the offline queue. */
  readonly maxQueuedBytesPerSender?: number;
  /** What one PeerJS id may send to be relayed; a burst of four seconds' worth is allowed. */
  readonly relayRate?: RelayRate;
  readonly logger?: Logger;
  /**
   * Makes the state shared across instances (store.ts); the in-memory store when absent. The
   * service calls it once, at start, and closes the store when it closes.
   */
  readonly store?: (settings: SignalingSettings) => SignalingStore;
}

/** A relay budget holds this many seconds' worth of its rate (relay-budget.ts). */
export const RELAY_BURST_SECONDS = 4;

export interface RelayRate {
  readonly messagesPerSecond: number;
  readonly bytesPerSecond: number;
}

export interface SignalingSettings {
  readonly path: string;
  readonly key: string;
  readonly egresses: readonly EgressInfo[];
  readonly censoredCountries: readonly string[];
  readonly iceServers: readonly IceServer[];
  readonly allowSameIp: boolean;
  readonly ignoreNat: boolean;
  readonly admission: AdmissionIssuing | undefined;
  readonly natProbe:
    { readonly port: number; readonly bind: string; readonly host?: string } | undefined;
  readonly cors: readonly string[] | undefined;
  readonly allowDiscovery: boolean;
  readonly concurrentLimit: number;
  readonly aliveTimeoutMs: number;
  readonly expireTimeoutMs: number;
  readonly pollTimeoutMs: number;
  readonly matchTimeoutMs: number;
  readonly volunteerTimeoutMs: number;
  readonly geoip: GeoipFiles | false;
  readonly maxQueuedPerDestination: number;
  readonly maxQueuedBytes: number;
  readonly maxWaiting: number;
  readonly maxBufferedBytes: number;
  readonly rateLimit: RateLimit;
  readonly ipv6Prefix: number;
  readonly maxIdsPerAddress: number;
  readonly maxMatchesPerConsumer: number;
  readonly maxMatchesPerAddress: number;
  readonly addressSharePercent: number;
  readonly matchHoldMs: number;
  readonly maxVolunteerSlots: number;
  readonly maxQueuedBytesPerSender: number;
  readonly relayRate: RelayRate;
}

export const DEFAULTS = {
  path: '/',
  key: 'peerjs',
  concurrentLimit: 5000,
  // The stock server's defaults; the peerjs client heartbeats every 5 s.
  aliveTimeoutMs: 60_000,
  expireTimeoutMs: 5_000,
  pollTimeoutMs: 10_000,
  matchTimeoutMs: 10_000,
  maxQueuedPerDestination: 100,
  maxQueuedBytes: 16 * 1024 * 1024,
  maxWaiting: 10_000,
  maxBufferedBytes: 1024 * 1024,
  // Generous, because many censored users share one carrier-grade NAT address.
  rateLimit: { burst: 60, perSecond: 10 },
  ipv6Prefix: 64,
  // Generous for the same reason; 20 addresses at this limit still leave room for others.
  maxIdsPerAddress: 256,
  // A consumer asks for 2 and holds them only until the volunteers answer (about a second).
  maxMatchesPerConsumer: 4,
  maxMatchesPerAddress: 64,
  addressSharePercent: 25,
  // What mesh/volunteer.ts waits for a matched consumer to connect.
  matchHoldMs: 30_000,
  maxVolunteerSlots: 8,
  maxQueuedBytesPerSender: 1024 * 1024,
  // A WebRTC set-up is an offer or answer and a few candidates: some kilobytes. A volunteer
  // serving eight consumers at once sends well under a tenth of this.
  relayRate: { messagesPerSecond: 50, bytesPerSecond: 64 * 1024 },
} as const;

const MAX_CONCURRENT_LIMIT = 1_000_000;

export function resolveSettings(options: SignalingOptions = {}): SignalingSettings {
  const path = options.path ?? DEFAULTS.path;
  if (!/^\/(?:[A-Za-z0-9._~-]+\/)*$/.test(path)) {
    throw configError('path', 'must start and end with "/" and use only URL-safe characters');
  }
  const problem = options.admission && admissionProblem(options.admission);
  if (problem) throw configError('admission', problem);
  const key = options.key ?? DEFAULTS.key;
  if (!isValidPeerjsKey(key)) {
    throw configError('key', 'must be 1 to 64 characters of A-Z a-z 0-9 . _ ~ -');
  }
  const aliveTimeoutMs = timeout(options.aliveTimeoutMs, DEFAULTS.aliveTimeoutMs, 'aliveTimeoutMs');
  const settings: SignalingSettings = {
    path,
    key,
    egresses: options.egresses ?? [],
    censoredCountries: (options.censoredCountries ?? []).map((cc) => cc.toUpperCase()),
    iceServers: options.iceServers ?? [],
    allowSameIp: options.allowSameIp ?? false,
    ignoreNat: options.ignoreNat ?? false,
    admission: options.admission,
    natProbe:
      options.natProbePort === undefined
        ? undefined
        : {
            port: probePort(options.natProbePort),
            bind: options.natProbeBind ?? '127.0.0.1',
            ...(options.natProbeHost === undefined ? {} : { host: options.natProbeHost }),
          },
    cors: options.cors,
    allowDiscovery: options.allowDiscovery ?? false,
    concurrentLimit: count(
      options.concurrentLimit,
      DEFAULTS.concurrentLimit,
      'concurrentLimit',
      MAX_CONCURRENT_LIMIT,
    ),
    aliveTimeoutMs,
    expireTimeoutMs: timeout(options.expireTimeoutMs, DEFAULTS.expireTimeoutMs, 'expireTimeoutMs'),
    pollTimeoutMs: timeout(options.pollTimeoutMs, DEFAULTS.pollTimeoutMs, 'pollTimeoutMs'),
    matchTimeoutMs: timeout(options.matchTimeoutMs, DEFAULTS.matchTimeoutMs, 'matchTimeoutMs'),
    volunteerTimeoutMs: timeout(options.volunteerTimeoutMs, aliveTimeoutMs, 'volunteerTimeoutMs'),
    geoip: options.geoip ?? {},
    maxQueuedPerDestination: count(
      options.maxQueuedPerDestination,
      DEFAULTS.maxQueuedPerDestination,
      'maxQueuedPerDestination',
    ),
    maxQueuedBytes: count(options.maxQueuedBytes, DEFAULTS.maxQueuedBytes, 'maxQueuedBytes'),
    maxWaiting: count(options.maxWaiting, DEFAULTS.maxWaiting, 'maxWaiting'),
    maxBufferedBytes: count(
      options.maxBufferedBytes,
      DEFAULTS.maxBufferedBytes,
      'maxBufferedBytes',
    ),
    rateLimit: {
      burst: count(options.rateLimit?.burst, DEFAULTS.rateLimit.burst, 'rateLimit.burst'),
      perSecond: count(
        options.rateLimit?.perSecond,
        DEFAULTS.rateLimit.perSecond,
        'rateLimit.perSecond',
      ),
    },
    ipv6Prefix: count(options.ipv6Prefix, DEFAULTS.ipv6Prefix, 'ipv6Prefix', 128),
    maxIdsPerAddress: count(
      options.maxIdsPerAddress,
      DEFAULTS.maxIdsPerAddress,
      'maxIdsPerAddress',
    ),
    maxMatchesPerConsumer: count(
      options.maxMatchesPerConsumer,
      DEFAULTS.maxMatchesPerConsumer,
      'maxMatchesPerConsumer',
    ),
    maxMatchesPerAddress: count(
      options.maxMatchesPerAddress,
      DEFAULTS.maxMatchesPerAddress,
      'maxMatchesPerAddress',
    ),
    addressSharePercent: count(
      options.addressSharePercent,
      DEFAULTS.addressSharePercent,
      'addressSharePercent',
      100,
    ),
    matchHoldMs: timeout(options.matchHoldMs, DEFAULTS.matchHoldMs, 'matchHoldMs'),
    maxVolunteerSlots: count(
      options.maxVolunteerSlots,
      DEFAULTS.maxVolunteerSlots,
      'maxVolunteerSlots',
      MAX_VOLUNTEER_SLOTS,
    ),
    maxQueuedBytesPerSender: count(
      options.maxQueuedBytesPerSender,
      DEFAULTS.maxQueuedBytesPerSender,
      'maxQueuedBytesPerSender',
    ),
    relayRate: {
      messagesPerSecond: count(
        options.relayRate?.messagesPerSecond,
        DEFAULTS.relayRate.messagesPerSecond,
        'relayRate.messagesPerSecond',
      ),
      bytesPerSecond: count(
        options.relayRate?.bytesPerSecond,
        DEFAULTS.relayRate.bytesPerSecond,
        'relayRate.bytesPerSecond',
      ),
    },
  };
  if (settings.relayRate.bytesPerSecond * RELAY_BURST_SECONDS < MAX_SIGNALING_MESSAGE_BYTES) {
    throw configError(
      'relayRate.bytesPerSecond',
      `must be at least ${MAX_SIGNALING_MESSAGE_BYTES / RELAY_BURST_SECONDS}, so that the largest message can pass`,
    );
  }
  for (const origin of settings.cors ?? []) {
    if (origin !== '*' && !isOrigin(origin)) {
      throw configError('cors', 'must list origins such as https://example.org, or "*"');
    }
  }
  // The egress list and ICE servers are published verbatim in /v1/config, so they must pass
  // the same schema every client checks them against.
  try {
    parseSignalingConfig(configBody(settings, '??'));
  } catch (err) {
    if (err instanceof SchemaError) throw configError('config', err.message);
    throw err;
  }
  return settings;
}

/** The body of `GET {path}v1/config` for a caller in `country`. */
export function configBody(
  settings: SignalingSettings,
  country: string,
  natProbe?: NatProbeInfo,
): unknown {
  return {
    iceServers: settings.iceServers,
    egresses: settings.egresses,
    limits: {
      maxTunnelMessageBytes: MAX_TUNNEL_MESSAGE_BYTES,
      maxSignalingMessageBytes: MAX_SIGNALING_MESSAGE_BYTES,
      maxConsumerVolunteers: MAX_MATCH_COUNT,
      maxVolunteerSlots: settings.maxVolunteerSlots,
      pollTimeoutMs: settings.pollTimeoutMs,
      matchTimeoutMs: settings.matchTimeoutMs,
      aliveTimeoutMs: settings.aliveTimeoutMs,
    },
    country,
    ...(settings.censoredCountries.length > 0 ? { censored: settings.censoredCountries } : {}),
    ...(natProbe === undefined ? {} : { natProbe }),
  };
}

/**
 * Parses an egress given on the command line as `ID=URL#PUBLICKEY`, e.g.
 * `local=ws://127.0.0.1:8080/#a4e0…`. The `#` cannot be part of a valid egress URL, so the
 * split is unambiguous.
 */
export function parseEgressSpec(spec: string): EgressInfo {
  const equals = spec.indexOf('=');
  const hash = spec.lastIndexOf('#');
  if (equals <= 0 || hash < equals) {
    throw configError('egress', 'must be ID=URL#PUBLICKEY');
  }
  try {
    return parseEgressInfo({
      id: spec.slice(0, equals),
      url: spec.slice(equals + 1, hash),
      publicKey: spec.slice(hash + 1),
    });
  } catch (err) {
    if (err instanceof SchemaError) throw configError('egress', err.message);
    throw err;
  }
}

/**
 * Parses an egress list file (`--egress-file`): one `ID=URL#PUBLICKEY` per line, as with
 * `--egress`; blank lines and lines starting with `#` are skipped. An error names the line.
 */
export function parseEgressList(text: string, source = 'egress file'): EgressInfo[] {
  const egresses: EgressInfo[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    try {
      egresses.push(parseEgressSpec(line));
    } catch (err) {
      if (!(err instanceof SignalingError)) throw err;
      throw new SignalingError('ERR_SIGNALING_CONFIG', `${source}:${index + 1}: ${err.message}`);
    }
  });
  return egresses;
}

/**
 * Checks an egress list that replaces the running one (SIGHUP) as `resolveSettings` checks the
 * first: against the schema every client reads `/v1/config` with (at most 32, unique ids).
 */
export function checkEgresses(
  settings: SignalingSettings,
  egresses: readonly EgressInfo[],
): readonly EgressInfo[] {
  try {
    parseSignalingConfig(configBody({ ...settings, egresses }, '??'));
  } catch (err) {
    if (err instanceof SchemaError) throw configError('egress', err.message);
    throw err;
  }
  return egresses;
}

function isOrigin(text: string): boolean {
  try {
    const url = new URL(text);
    return url.origin === text && url.origin !== 'null';
  } catch {
    return false;
  }
}

function timeout(value: number | undefined, fallback: number, name: string): number {
  return count(value, fallback, name, MAX_ANNOUNCED_TIMEOUT_MS);
}

function count(
  value: number | undefined,
  fallback: number,
  name: string,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1 || value > max) {
    throw configError(name, `must be an integer from 1 to ${max}`);
  }
  return value;
}

/** 0 (two ports the system picks), or a first port whose next one is a port too. */
function probePort(value: number): number {
  if (!Number.isSafeInteger(value) || value < 0 || value > 65_534) {
    throw configError('natProbePort', 'must be an integer from 0 to 65534');
  }
  return value;
}

function configError(name: string, message: string): SignalingError {
  return new SignalingError('ERR_SIGNALING_CONFIG', `${name}: ${message}`);
}
