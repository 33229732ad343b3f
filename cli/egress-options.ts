/**
 * The egress's flags, shared by `bu egress` and `bu serve`: destination policy and limits, and
 * the key file (created with mode 0600 on first run).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseAllowEntry } from '../egress/destination-policy.ts';
import type { EgressOptions } from '../egress/config.ts';
import {
  createEgressKey,
  encodeEgressKeyFile,
  parseEgressKeyFile,
} from '../protocol/egress-key.ts';
import type { KeyPair } from '../protocol/noise/crypto-suite.ts';
import { CliError } from './command.ts';
import { errorText, type Flag, type FlagReader } from './flags.ts';

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
];

type PolicyOptions = Pick<EgressOptions, 'allow' | 'allowPrivate' | 'limits'>;

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
    limits: {
      ...(maxStreams === undefined ? {} : { maxStreamsPerConnection: maxStreams }),
      ...(perIp === undefined ? {} : { maxConnectionsPerIp: perIp }),
      ...(deniedPorts === undefined ? {} : { deniedPorts }),
    },
  };
}

function hasCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && err.code === code;
}

/**
 * Reads the key file, or creates it (mode 0600, directory 0700) when it does not exist yet; a
 * file it cannot read, create or parse is a CliError `ERR_EGRESS_KEY` naming it.
 */
export async function loadOrCreateKey(file: string): Promise<{ key: KeyPair; created: boolean }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (!hasCode(err, 'ENOENT'))
      throw new CliError(`cannot read ${file}: ${errorText(err)}`, 1, 'ERR_EGRESS_KEY');
    const key = createEgressKey();
    try {
      await mkdir(dirname(file), { recursive: true, mode: 0o700 });
      await writeFile(file, encodeEgressKeyFile(key), { mode: 0o600, flag: 'wx' });
    } catch (writeErr) {
      throw new CliError(`cannot create ${file}: ${errorText(writeErr)}`, 1, 'ERR_EGRESS_KEY');
    }
    return { key, created: true };
  }
  try {
    return { key: parseEgressKeyFile(text), created: false };
  } catch (err) {
    throw new CliError(`${file} is not an egress key file: ${errorText(err)}`, 1, 'ERR_EGRESS_KEY');
  }
}
