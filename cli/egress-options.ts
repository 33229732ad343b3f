/**
 * The egress's flags, shared by `bu egress` and `bu serve`: destination policy and limits, and
 * the key file (created with mode 0600 on first run).
 */
import { readFileSync } from 'node:fs';
import { parseAllowEntry } from '../egress/destination-policy.ts';
import type { EgressOptions } from '../egress/config.ts';
import { WispPasswords, type WispCredential } from '../egress/wisp-passwords.ts';
import {
  createEgressKey,
  encodeEgressKeyFile,
  parseEgressKeyFile,
} from '../protocol/egress-key.ts';
import type { KeyPair } from '../protocol/noise/crypto-suite.ts';
import { CliError } from './command.ts';
import { errorText, type Flag, type FlagReader } from './flags.ts';
import { loadOrCreateKeyFile } from './key-file.ts';

export const EGRESS_FLAGS: readonly Flag[] = [
  {
    name: 'allow',
    type: 'string',
    multiple: true,
    arg: 'HOST:PORT',
    env: 'BU_EGRESS_ALLOW',
    separator: 'comma',
    help: 'let this destination through although the address policy refuses it; repeatable (env: comma-separated)',
  },
  {
    name: 'allow-private',
    type: 'boolean',
    env: 'BU_EGRESS_ALLOW_PRIVATE',
    help: 'allow loopback, private and other non-public addresses: development only',
  },
  {
    name: 'max-streams',
    type: 'string',
    arg: 'N',
    env: 'BU_EGRESS_MAX_STREAMS',
    help: 'streams per connection (256)',
  },
  {
    name: 'deny-ports',
    type: 'string',
    arg: 'LIST',
    env: 'BU_EGRESS_DENY_PORTS',
    help: 'comma-separated ports never dialled (25)',
  },
  {
    name: 'max-connections-per-ip',
    type: 'string',
    arg: 'N',
    env: 'BU_EGRESS_MAX_CONNECTIONS_PER_IP',
    help: 'WebSocket connections per client address (32)',
  },
  {
    name: 'wisp-password-file',
    type: 'string',
    arg: 'FILE',
    env: 'BU_EGRESS_WISP_PASSWORD_FILE',
    help: 'make /wisp/ private: USER:PASSWORD lines (# comments); Wisp v2 password auth required, v1 clients refused',
  },
];

type PolicyOptions = Pick<EgressOptions, 'allow' | 'allowPrivate' | 'limits' | 'wispPasswords'>;

/**
 * Parses a password file: one `USER:PASSWORD` per line (split at the first colon, so passwords
 * may hold colons), blank lines and lines starting with `#` skipped, a trailing CR dropped.
 * Errors name the line, never its text: it holds a password.
 */
export function parseWispPasswordFile(text: string, file: string): WispCredential[] {
  const credentials: WispCredential[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon < 1 || colon === line.length - 1) {
      throw new CliError(
        `--wisp-password-file: ${file} line ${i + 1} is not USER:PASSWORD (both non-empty)`,
        2,
      );
    }
    credentials.push({ username: line.slice(0, colon), password: line.slice(colon + 1) });
  }
  if (credentials.length === 0) {
    throw new CliError(`--wisp-password-file: ${file} holds no USER:PASSWORD line`, 2);
  }
  try {
    new WispPasswords(credentials);
  } catch (err) {
    throw new CliError(`--wisp-password-file: ${file}: ${errorText(err)}`, 2);
  }
  return credentials;
}

function readWispPasswords(file: string): WispCredential[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`--wisp-password-file: cannot read ${file}: ${errorText(err)}`, 2);
  }
  return parseWispPasswordFile(text, file);
}

/** The policy and limits from EGRESS_FLAGS; bad values are usage errors (exit code 2). */
export function egressPolicy(flags: FlagReader): PolicyOptions {
  const allow = flags.list('allow') ?? [];
  for (const entry of allow) {
    try {
      parseAllowEntry(entry);
    } catch (err) {
      throw new CliError(`--allow: ${errorText(err)}`, 2);
    }
  }
  const maxStreams = flags.integer('max-streams', 1, 65535);
  const perIp = flags.integer('max-connections-per-ip', 1, 1_000_000);
  const denyPorts = flags.text('deny-ports');
  const passwordFile = flags.text('wisp-password-file');
  const deniedPorts =
    denyPorts === undefined
      ? undefined
      : denyPorts
          .split(',')
          .map((port) => port.trim())
          .filter((port) => port !== '')
          .map((port) => {
            const value = Number(port);
            if (!/^[0-9]{1,5}$/.test(port) || value < 1 || value > 65535) {
              throw new CliError(`--deny-ports: ${JSON.stringify(port)} is not a port`, 2);
            }
            return value;
          });
  return {
    allow,
    allowPrivate: flags.boolean('allow-private') ?? false,
    ...(passwordFile === undefined ? {} : { wispPasswords: readWispPasswords(passwordFile) }),
    limits: {
      ...(maxStreams === undefined ? {} : { maxStreamsPerConnection: maxStreams }),
      ...(perIp === undefined ? {} : { maxConnectionsPerIp: perIp }),
      ...(deniedPorts === undefined ? {} : { deniedPorts }),
    },
  };
}

/**
 * Reads the egress key file, or creates it (mode 0600, directory 0700) when it does not exist
 * yet; a file it cannot read, create or parse is a CliError `ERR_EGRESS_KEY` naming it.
 */
export function loadOrCreateKey(file: string): Promise<{ key: KeyPair; created: boolean }> {
  return loadOrCreateKeyFile(file, {
    name: 'an egress key file',
    code: 'ERR_EGRESS_KEY',
    create: createEgressKey,
    encode: encodeEgressKeyFile,
    parse: parseEgressKeyFile,
  });
}
