/**
 * The signaling server's flags, shared by `bu signaling` and `bu serve`, and how they become
 * `SignalingOptions`.
 */
import type { IceServer } from '../protocol/signaling-config.ts';
import { readFile } from 'node:fs/promises';
import {
  DEFAULTS,
  parseEgressList,
  parseEgressSpec,
  type SignalingOptions,
} from '../signaling/config.ts';
import { SignalingError } from '../signaling/errors.ts';
import { CliError } from './command.ts';
import type { Flag, FlagReader } from './flags.ts';

/** Flags every signaling host takes; `bu signaling` adds host, port, path, egress, log level. */
export const SIGNALING_FLAGS: readonly Flag[] = [
  { name: 'key', type: 'string', arg: 'KEY', help: 'PeerJS API key clients must use (peerjs)' },
  {
    name: 'ice-server',
    type: 'string',
    multiple: true,
    arg: 'URL',
    help: 'a STUN or TURN server for clients: stun:HOST:PORT, or turn:HOST:PORT?transport=udp,USERNAME,CREDENTIAL; repeatable (none by default)',
  },
  {
    name: 'nat-probe-port',
    type: 'string',
    arg: 'PORT',
    help: 'run the NAT probe: STUN on UDP PORT and PORT+1 (e.g. 3478; 0 picks two ports), so that clients learn their NAT type (off by default)',
  },
  {
    name: 'nat-probe-host',
    type: 'string',
    arg: 'NAME',
    help: 'the host name or address clients reach the NAT probe at (default: the host they reach this server at)',
  },
  {
    name: 'censored',
    type: 'string',
    multiple: true,
    arg: 'CC',
    help: 'a country code where volunteering is unsafe (volunteers there are told not to share); repeatable',
  },
  {
    name: 'allow-same-ip',
    type: 'boolean',
    help: 'let a consumer be matched with a volunteer at its own address',
  },
  {
    name: 'ignore-nat',
    type: 'boolean',
    help: 'match regardless of NAT types (for one machine or one LAN)',
  },
  {
    name: 'cors',
    type: 'string',
    multiple: true,
    arg: 'ORIGIN',
    help: 'allow only this origin (or *) for HTTP and WebSockets; repeatable; default: echo any origin',
  },
  {
    name: 'allow-discovery',
    type: 'boolean',
    help: 'let GET {path}{key}/peers list the connected ids',
  },
  {
    name: 'concurrent-limit',
    type: 'string',
    arg: 'N',
    help: 'most PeerJS ids connected at once (5000)',
  },
  {
    name: 'alive-timeout',
    type: 'string',
    arg: 'MS',
    help: 'silence after which an id is freed (60000)',
  },
  {
    name: 'expire-timeout',
    type: 'string',
    arg: 'MS',
    help: 'how long a message waits for an offline id before EXPIRE (5000)',
  },
  {
    name: 'poll-timeout',
    type: 'string',
    arg: 'MS',
    help: 'how long a volunteer poll is held open (10000)',
  },
  {
    name: 'match-timeout',
    type: 'string',
    arg: 'MS',
    help: 'how long a consumer waits for a volunteer (10000)',
  },
  {
    name: 'geoip',
    type: 'string',
    arg: 'FILE',
    help: 'IPv4 country ranges, Tor format (LOW,HIGH,CC); default: the bundled database',
  },
  {
    name: 'geoip6',
    type: 'string',
    arg: 'FILE',
    help: 'IPv6 country ranges, Tor format; default: the bundled database',
  },
  { name: 'no-geoip', type: 'boolean', help: 'no country lookup (every country is ??)' },
  {
    name: 'rate-burst',
    type: 'string',
    arg: 'N',
    help: 'connections (and separately requests) one address may make at once (60)',
  },
  {
    name: 'rate-per-second',
    type: 'string',
    arg: 'N',
    help: 'how fast that allowance refills (10)',
  },
  // Fair shares: what one stranger may take of what everyone shares (docs/signaling.md).
  {
    name: 'ipv6-prefix',
    type: 'string',
    arg: 'BITS',
    help: `IPv6 addresses sharing this prefix count as one address for every per-address limit (${DEFAULTS.ipv6Prefix})`,
  },
  {
    name: 'max-ids-per-address',
    type: 'string',
    arg: 'N',
    help: `PeerJS ids one address may hold connected at once (${DEFAULTS.maxIdsPerAddress})`,
  },
  {
    name: 'max-matches-per-consumer',
    type: 'string',
    arg: 'N',
    help: `outstanding introductions (matched volunteers) one consumer id may hold (${DEFAULTS.maxMatchesPerConsumer})`,
  },
  {
    name: 'max-matches-per-address',
    type: 'string',
    arg: 'N',
    help: `most outstanding introductions one address may hold, as consumer or as volunteer (${DEFAULTS.maxMatchesPerAddress})`,
  },
  {
    name: 'address-share',
    type: 'string',
    arg: 'PERCENT',
    help: `an address's share of its pool's volunteer slots, within the two limits above (${DEFAULTS.addressSharePercent})`,
  },
  {
    name: 'match-hold',
    type: 'string',
    arg: 'MS',
    help: `how long an introduction counts as outstanding: what a volunteer waits for its consumer (${DEFAULTS.matchHoldMs})`,
  },
  {
    name: 'max-volunteer-slots',
    type: 'string',
    arg: 'N',
    help: `slots a volunteer may claim (more are capped), and introductions it may hold (${DEFAULTS.maxVolunteerSlots})`,
  },
  {
    name: 'max-queued-bytes-per-sender',
    type: 'string',
    arg: 'BYTES',
    help: `bytes one address's messages may take in the queue for offline ids (${DEFAULTS.maxQueuedBytesPerSender})`,
  },
  {
    name: 'relay-messages-per-second',
    type: 'string',
    arg: 'N',
    help: `messages one id may have relayed, with a burst of four seconds' worth (${DEFAULTS.relayRate.messagesPerSecond})`,
  },
  {
    name: 'relay-bytes-per-second',
    type: 'string',
    arg: 'N',
    help: `bytes one id may have relayed, likewise (${DEFAULTS.relayRate.bytesPerSecond})`,
  },
];

/** The egress-list flag of `bu signaling` (`bu serve` lists itself). */
export const EGRESS_LIST_FLAG: Flag = {
  name: 'egress',
  type: 'string',
  multiple: true,
  arg: 'ID=URL#PUBKEY',
  help: 'an egress for the egress list, e.g. local=ws://127.0.0.1:8080/#<public key>; repeatable (env: space-separated)',
};

/** The egress-list file of `bu signaling`, read again on SIGHUP. */
export const EGRESS_FILE_FLAG: Flag = {
  name: 'egress-file',
  type: 'string',
  arg: 'FILE',
  help: 'more egress list entries, one ID=URL#PUBKEY per line (lines starting with # are comments); SIGHUP reads the file again, so egresses can be added and removed without a restart',
};

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** `--ice-server`: a STUN URL, or a TURN URL followed by `,USERNAME,CREDENTIAL`. */
export function iceServer(spec: string): IceServer {
  const [urls = '', username, credential, ...rest] = spec.split(',');
  const turn = /^turns?:/.test(urls);
  if (!turn && username === undefined) return { urls };
  if (!turn) {
    throw new CliError(
      `--ice-server ${urls}: only a TURN server takes a username and credential`,
      2,
    );
  }
  if (
    username === undefined ||
    credential === undefined ||
    rest.length > 0 ||
    !username ||
    !credential
  ) {
    throw new CliError(
      `--ice-server ${urls}: a TURN server needs a username and a credential: ${urls},USERNAME,CREDENTIAL (neither may contain a comma)`,
      2,
    );
  }
  return { urls, username, credential };
}

/** Options from the SIGNALING_FLAGS; `defaults` fill what the user did not say. */
export function signalingOptions(
  flags: FlagReader,
  defaults: { allowSameIp?: boolean; ignoreNat?: boolean } = {},
): Mutable<SignalingOptions> {
  const options: Mutable<SignalingOptions> = {
    allowSameIp: flags.boolean('allow-same-ip') ?? defaults.allowSameIp ?? false,
    ignoreNat: flags.boolean('ignore-nat') ?? defaults.ignoreNat ?? false,
    allowDiscovery: flags.boolean('allow-discovery') ?? false,
    iceServers: (flags.list('ice-server') ?? []).map(iceServer),
    censoredCountries: flags.list('censored') ?? [],
  };
  const key = flags.text('key');
  if (key !== undefined) options.key = key;
  const probePort = flags.integer('nat-probe-port', 0, 65_534);
  if (probePort !== undefined) options.natProbePort = probePort;
  const probeHost = flags.text('nat-probe-host');
  if (probeHost !== undefined) options.natProbeHost = probeHost;
  const cors = flags.list('cors');
  if (cors !== undefined) options.cors = cors;
  const numbers = [
    ['concurrent-limit', 'concurrentLimit'],
    ['alive-timeout', 'aliveTimeoutMs'],
    ['expire-timeout', 'expireTimeoutMs'],
    ['poll-timeout', 'pollTimeoutMs'],
    ['match-timeout', 'matchTimeoutMs'],
    ['ipv6-prefix', 'ipv6Prefix'],
    ['max-ids-per-address', 'maxIdsPerAddress'],
    ['max-matches-per-consumer', 'maxMatchesPerConsumer'],
    ['max-matches-per-address', 'maxMatchesPerAddress'],
    ['address-share', 'addressSharePercent'],
    ['match-hold', 'matchHoldMs'],
    ['max-volunteer-slots', 'maxVolunteerSlots'],
    ['max-queued-bytes-per-sender', 'maxQueuedBytesPerSender'],
  ] as const;
  for (const [flag, option] of numbers) {
    const value = flags.integer(flag, 0, Number.MAX_SAFE_INTEGER);
    if (value !== undefined) options[option] = value;
  }
  const rateLimit = readGroup(
    flags,
    [
      ['burst', 'rate-burst'],
      ['perSecond', 'rate-per-second'],
    ],
    DEFAULTS.rateLimit,
  );
  if (rateLimit !== undefined) options.rateLimit = rateLimit;
  const relayRate = readGroup(
    flags,
    [
      ['messagesPerSecond', 'relay-messages-per-second'],
      ['bytesPerSecond', 'relay-bytes-per-second'],
    ],
    DEFAULTS.relayRate,
  );
  if (relayRate !== undefined) options.relayRate = relayRate;
  const geoip4 = flags.text('geoip');
  const geoip6 = flags.text('geoip6');
  options.geoip =
    flags.boolean('no-geoip') === true
      ? false
      : {
          ...(geoip4 === undefined ? {} : { ipv4: geoip4 }),
          ...(geoip6 === undefined ? {} : { ipv6: geoip6 }),
        };
  return options;
}

/**
 * Flags that together set one option object (each a whole number): undefined when none is
 * given, else the object with `defaults` for the fields left out.
 */
function readGroup<K extends string>(
  flags: FlagReader,
  fields: readonly (readonly [K, string])[],
  defaults: Readonly<Record<K, number>>,
): Record<K, number> | undefined {
  const group: Record<K, number> = { ...defaults };
  let given = false;
  for (const [field, flag] of fields) {
    const value = flags.integer(flag, 0, Number.MAX_SAFE_INTEGER);
    if (value === undefined) continue;
    group[field] = value;
    given = true;
  }
  return given ? group : undefined;
}

/** The entries of an `--egress-file`; a bad line is an ERR_SIGNALING_CONFIG naming it. */
export async function readEgressFile(
  file: string,
): Promise<NonNullable<SignalingOptions['egresses']>> {
  return parseEgressList(await readFile(file, 'utf8'), file);
}

/** `--egress` entries, as the egress list. */
export function egressList(flags: FlagReader): NonNullable<SignalingOptions['egresses']> {
  try {
    return (flags.list('egress') ?? []).map(parseEgressSpec);
  } catch (err) {
    if (err instanceof SignalingError) throw new CliError(err.message, 2);
    throw err;
  }
}
