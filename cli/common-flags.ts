/**
 * Flags that several `bu` commands share, each declared once with its help text and read the
 * same way everywhere: where a server listens, how much it logs, and how a peer (`bu proxy`,
 * `bu volunteer`) reaches the signaling server.
 */
import { NAT_TYPES, type NatType } from '../protocol/matchmaking.ts';
import { isLogLevel, LOG_LEVELS, type LogLevel } from '../server-kit/logger.ts';
import { CliError } from './command.ts';
import type { Flag, FlagReader } from './flags.ts';

/** `--host` and `--port` of a server; `defaultPort` is shown in the help and used when unset. */
export function listenFlags(defaultPort: number): Flag[] {
  return [
    { name: 'host', type: 'string', arg: 'HOST', help: 'address to listen on (127.0.0.1)' },
    {
      name: 'port',
      type: 'string',
      arg: 'PORT',
      help: `port (${defaultPort}); 0 picks a free one`,
    },
  ];
}

export function readListen(
  flags: FlagReader,
  defaultPort: number,
): { readonly host: string; readonly port: number } {
  return {
    host: flags.text('host') ?? '127.0.0.1',
    port: flags.integer('port', 0, 65535) ?? defaultPort,
  };
}

/** `--log-level`; `what` says what the levels govern for this command. */
export function logLevelFlag(what = 'logs are JSON lines on stderr'): Flag {
  return {
    name: 'log-level',
    type: 'string',
    arg: 'LEVEL',
    help: `${LOG_LEVELS.join(', ')} (info); ${what}`,
  };
}

export function readLogLevel(flags: FlagReader): LogLevel {
  const level = flags.text('log-level') ?? 'info';
  if (!isLogLevel(level)) {
    throw new CliError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`, 2);
  }
  return level;
}

/** What a peer of the network (`bu proxy`, `bu volunteer`) needs to join it. */
export const PEER_FLAGS: readonly Flag[] = [
  {
    name: 'signaling',
    type: 'string',
    arg: 'URL',
    help: 'the signaling server, e.g. http://127.0.0.1:8080/signal/ (required)',
  },
  {
    name: 'nat',
    type: 'string',
    arg: 'TYPE',
    help: "report this NAT type instead of finding it: unrestricted, restricted or unknown (default: found with the signaling server's NAT probe when it runs one, else unknown)",
  },
  { name: 'key', type: 'string', arg: 'KEY', help: 'the PeerJS API key (peerjs)' },
];

export interface PeerSettings {
  readonly signaling: string;
  readonly nat: NatType | undefined;
  readonly key: string | undefined;
}

export function readPeer(flags: FlagReader): PeerSettings {
  const signaling = flags.text('signaling');
  if (signaling === undefined) throw new CliError('--signaling URL is required', 2);
  const nat = flags.text('nat');
  if (nat !== undefined && !isNat(nat)) {
    throw new CliError(`--nat must be one of ${NAT_TYPES.join(', ')}`, 2);
  }
  return { signaling, nat, key: flags.text('key') };
}

function isNat(text: string): text is NatType {
  return NAT_TYPES.some((nat) => nat === text);
}
