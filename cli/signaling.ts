import { SignalingError } from '../signaling/errors.ts';
import { DEFAULTS, parseEgressSpec } from '../signaling/config.ts';
import { createLogger, isLogLevel, LOG_LEVELS } from '../signaling/logger.ts';
import { startSignalingServer, type ListenOptions } from '../signaling/server.ts';
import { CliError, parseOptions, type Command } from './command.ts';

interface Flag {
  readonly name: string;
  readonly type: 'string' | 'boolean';
  readonly multiple?: boolean;
  readonly arg?: string;
  readonly help: string;
}

/** Every flag, also readable from `BU_<NAME>` (upper case, `-` as `_`); the flag wins. */
const FLAGS: readonly Flag[] = [
  { name: 'host', type: 'string', arg: 'HOST', help: 'address to listen on (127.0.0.1)' },
  { name: 'port', type: 'string', arg: 'PORT', help: 'port to listen on (9000); 0 picks one' },
  { name: 'path', type: 'string', arg: 'PATH', help: 'prefix of every route (/)' },
  { name: 'key', type: 'string', arg: 'KEY', help: 'PeerJS API key clients must use (peerjs)' },
  {
    name: 'egress',
    type: 'string',
    multiple: true,
    arg: 'ID=URL#PUBKEY',
    help: 'an egress for the egress list, e.g. local=ws://127.0.0.1:8080/#<public key>; repeatable (env: space-separated)',
  },
  {
    name: 'ice-server',
    type: 'string',
    multiple: true,
    arg: 'URL',
    help: 'a STUN server for clients, e.g. stun:stun.example.org:3478; repeatable (none by default)',
  },
  {
    name: 'allow-same-ip',
    type: 'boolean',
    help: 'let a consumer be matched with a volunteer at its own address',
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
  {
    name: 'log-level',
    type: 'string',
    arg: 'LEVEL',
    help: `${LOG_LEVELS.join(', ')} (info); logs are JSON lines on stderr`,
  },
];

function envName(flag: Flag): string {
  return `BU_${flag.name.toUpperCase().replaceAll('-', '_')}`;
}

function helpText(): string {
  const rows = FLAGS.map((flag) => {
    const left = `  --${flag.name}${flag.arg === undefined ? '' : ` ${flag.arg}`}`;
    return `${left}\n      ${flag.help} [${envName(flag)}]`;
  });
  return `Usage: bu signaling [OPTIONS]

Runs the signaling server: the PeerJS server protocol (for the unmodified
peerjs client), matchmaking between consumers and volunteers, the client
config (ICE servers, egress list) and Prometheus metrics at {path}metrics.

Options (each also as the environment variable in brackets; a flag wins):
${rows.join('\n')}

On start it logs {"msg":"listening","url":…} on stderr and prints the URL.
SIGHUP reloads the geoip files; SIGINT or SIGTERM stops the server.
See docs/signaling.md.`;
}

type Value = string | boolean | (string | boolean)[] | undefined;
type Values = Record<string, Value>;

/** The flag's value, else its environment variable's, else undefined. */
function read(values: Values, flag: Flag): Value {
  const given = values[flag.name];
  if (given !== undefined) return given;
  const env = process.env[envName(flag)];
  if (env === undefined) return undefined;
  if (flag.type === 'boolean') {
    if (/^(?:1|true|yes|on)$/i.test(env)) return true;
    if (/^(?:0|false|no|off|)$/i.test(env)) return false;
    throw new CliError(`${envName(flag)} must be true or false`, 2);
  }
  return flag.multiple === true ? env.split(/\s+/).filter((part) => part !== '') : env;
}

function integer(value: Value, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^[0-9]{1,15}$/.test(value)) {
    throw new CliError(`--${flag} must be a whole number`, 2);
  }
  return Number(value);
}

function text(value: Value): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function list(value: Value): string[] | undefined {
  return Array.isArray(value)
    ? value.filter((item): item is string => typeof item === 'string')
    : undefined;
}

export const signaling: Command = {
  summary: 'run the signaling server (PeerJS-compatible, with matchmaking)',
  help: helpText(),

  async run(args) {
    const config = Object.fromEntries(
      FLAGS.map((flag) => [
        flag.name,
        flag.multiple === true ? { type: flag.type, multiple: true as const } : { type: flag.type },
      ]),
    );
    const { values } = parseOptions(args, config);
    const get = (name: string): Value => {
      const flag = FLAGS.find((candidate) => candidate.name === name);
      return flag === undefined ? undefined : read(values, flag);
    };

    const level = text(get('log-level')) ?? 'info';
    if (!isLogLevel(level))
      throw new CliError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`, 2);
    const logger = createLogger(level);
    const port = integer(get('port'), 'port') ?? 9000;
    if (port > 65535) throw new CliError('--port must be at most 65535', 2);

    const host = text(get('host')) ?? '127.0.0.1';
    const options: Mutable<ListenOptions> = {
      host,
      port,
      logger,
      allowSameIp: get('allow-same-ip') === true,
      allowDiscovery: get('allow-discovery') === true,
      iceServers: (list(get('ice-server')) ?? []).map((urls) => ({ urls })),
    };
    const path = text(get('path'));
    if (path !== undefined) options.path = path;
    const key = text(get('key'));
    if (key !== undefined) options.key = key;
    const cors = list(get('cors'));
    if (cors !== undefined) options.cors = cors;
    const numbers = [
      ['concurrent-limit', 'concurrentLimit'],
      ['alive-timeout', 'aliveTimeoutMs'],
      ['expire-timeout', 'expireTimeoutMs'],
      ['poll-timeout', 'pollTimeoutMs'],
      ['match-timeout', 'matchTimeoutMs'],
    ] as const;
    for (const [flag, option] of numbers) {
      const value = integer(get(flag), flag);
      if (value !== undefined) options[option] = value;
    }
    const burst = integer(get('rate-burst'), 'rate-burst');
    const perSecond = integer(get('rate-per-second'), 'rate-per-second');
    if (burst !== undefined || perSecond !== undefined) {
      options.rateLimit = {
        burst: burst ?? DEFAULTS.rateLimit.burst,
        perSecond: perSecond ?? DEFAULTS.rateLimit.perSecond,
      };
    }
    const geoip4 = text(get('geoip'));
    const geoip6 = text(get('geoip6'));
    options.geoip =
      get('no-geoip') === true
        ? false
        : {
            ...(geoip4 === undefined ? {} : { ipv4: geoip4 }),
            ...(geoip6 === undefined ? {} : { ipv6: geoip6 }),
          };
    try {
      options.egresses = (list(get('egress')) ?? []).map(parseEgressSpec);
    } catch (err) {
      if (err instanceof SignalingError) throw new CliError(err.message, 2);
      throw err;
    }

    let server;
    try {
      server = await startSignalingServer(options);
    } catch (err) {
      if (err instanceof SignalingError) throw new CliError(err.message, 2);
      throw new CliError(
        `cannot listen on ${host}:${port}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    const running = server;
    logger.info('listening', {
      url: running.url,
      host,
      port: running.port,
      path: running.service.settings.path,
      egresses: running.service.settings.egresses.length,
    });
    console.log(`bu signaling: listening on ${running.url}`);

    const reload = (): void => {
      running.service.reloadGeoip().catch((err: unknown) =>
        logger.error('geoip reload failed', {
          error: err instanceof Error ? err.message : String(err),
        }),
      );
    };
    process.on('SIGHUP', reload);
    await new Promise<void>((resolve) => {
      const stop = (signal: string): void => {
        logger.info('stopping', { signal });
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        process.off('SIGHUP', reload);
        void running.close().then(resolve);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    return 0;
  },
};

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
