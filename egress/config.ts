/**
 * Options of an egress and their validation. The CLI turns flags and BU_* variables into
 * these; embedders (`bu serve`, tests) pass them directly.
 */
import { AdmissionGate, type AdmissionSetting } from './admission-gate.ts';
import { rootCertificates } from 'node:tls';
import type { KeyPair } from '../protocol/noise/crypto-suite.ts';
import { parseAllowEntry, type AllowEntry } from './destination-policy.ts';
import { EgressConfigError } from './errors.ts';
import { DEFAULT_LIMITS, type EgressLimits } from './limits.ts';
import { createLogger, type Logger, type LogLevel } from '../server-kit/logger.ts';
import { systemLookup, type LookupFunction } from './resolver.ts';
import type { Dialer } from './stream-types.ts';
import { dialTcp } from './tcp-stream.ts';
import { WispPasswords, type WispCredential } from './wisp-passwords.ts';

export interface EgressOptions {
  /** The static X25519 key pair of the Noise NK responder on /tunnel/. */
  readonly key: KeyPair;
  /** `HOST:PORT` entries let through despite the address policy (development, tests). */
  readonly allow?: readonly (string | AllowEntry)[];
  /** Allow every non-public address (development only). */
  readonly allowPrivate?: boolean;
  /** Name lookup; the system resolver by default. Tests pass a fixed table. */
  readonly lookup?: LookupFunction;
  readonly limits?: Partial<EgressLimits>;
  /** A logger, or a level for the default JSON-lines logger on stderr. */
  readonly log?: Logger | LogLevel;
  /** TCP dialer for exact addresses; tests wrap it to assert nothing leaves the machine. */
  readonly dial?: Dialer;
  /**
   * PEM certificates trusted, besides Node's bundled roots, for the TLS the egress speaks
   * itself (`wss:` websocket streams, `https:` fetch streams). Development and tests only.
   */
  readonly extraCaCertificates?: readonly string[];
  /**
   * Makes `/wisp/` private: Wisp v2 clients must authenticate with one of these through the
   * password-authentication extension, Wisp v1 clients are refused. Absent or empty: open.
   */
  readonly wispPasswords?: readonly WispCredential[];
  /**
   * Who may use `/tunnel/`: consumers with an admission token signed by one of these keys (the
   * signaling server's), within the token's quotas; or `'off'` for a private egress that
   * carries anyone who reaches it (docs/egress.md, "Admission").
   */
  readonly admission: AdmissionSetting;
}

export interface EgressConfig {
  readonly key: KeyPair;
  readonly allow: readonly AllowEntry[];
  readonly allowPrivate: boolean;
  readonly lookup: LookupFunction;
  readonly limits: EgressLimits;
  readonly log: Logger;
  readonly dial: Dialer;
  /** Every trusted CA (the bundled roots and the extra ones), or undefined for the defaults. */
  readonly ca: readonly string[] | undefined;
  /** The credentials `/wisp/` requires, or undefined when it is open. */
  readonly wispPasswords: WispPasswords | undefined;
  /** The tunnel's admission check, or undefined when admission is off. */
  readonly admission: AdmissionGate | undefined;
}

const POSITIVE_LIMITS = [
  'initialBuffer',
  'defaultDownlinkCredit',
  'maxStreamsPerConnection',
  'maxConnectionsPerIp',
  'connectTimeoutMs',
  'idleTimeoutMs',
  'handshakeTimeoutMs',
  'pingIntervalMs',
  'sendHighWaterBytes',
  'uplinkBufferBytes',
  'uplinkStreamBytes',
] as const satisfies ReadonlyArray<keyof EgressLimits>;

function checkLimits(limits: EgressLimits): EgressLimits {
  for (const name of POSITIVE_LIMITS) {
    const value = limits[name];
    if (!Number.isSafeInteger(value) || value < 1 || value > 0xffff_ffff) {
      throw new EgressConfigError(
        'ERR_EGRESS_CONFIG',
        `${name}: expected a positive integer, got ${value}`,
      );
    }
  }
  for (const port of limits.deniedPorts) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new EgressConfigError('ERR_EGRESS_CONFIG', `deniedPorts: ${port} is not a port`);
    }
  }
  return limits;
}

export function resolveEgressConfig(options: EgressOptions): EgressConfig {
  const allow = (options.allow ?? []).map((entry) => {
    if (typeof entry !== 'string') return entry;
    try {
      return parseAllowEntry(entry);
    } catch (err) {
      throw new EgressConfigError(
        'ERR_EGRESS_CONFIG',
        err instanceof Error ? err.message : String(err),
      );
    }
  });
  const log = options.log;
  return {
    key: options.key,
    allow,
    allowPrivate: options.allowPrivate ?? false,
    lookup: options.lookup ?? systemLookup,
    limits: checkLimits({ ...DEFAULT_LIMITS, ...options.limits }),
    log: typeof log === 'object' ? log : createLogger(log ?? 'info'),
    dial: options.dial ?? dialTcp,
    ca:
      options.extraCaCertificates === undefined || options.extraCaCertificates.length === 0
        ? undefined
        : [...rootCertificates, ...options.extraCaCertificates],
    wispPasswords:
      options.wispPasswords === undefined || options.wispPasswords.length === 0
        ? undefined
        : new WispPasswords(options.wispPasswords),
    admission: admissionGate(options),
  };
}

function admissionGate(options: EgressOptions): AdmissionGate | undefined {
  const setting = options.admission as AdmissionSetting | undefined;
  if (setting === 'off') return undefined;
  if (setting === undefined || typeof setting !== 'object') {
    throw new EgressConfigError(
      'ERR_EGRESS_CONFIG',
      "admission: expected the signing keys to trust, or 'off' for a private egress",
    );
  }
  try {
    return new AdmissionGate(setting, options.key.publicKey);
  } catch (err) {
    throw new EgressConfigError(
      'ERR_EGRESS_CONFIG',
      `admission: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}
