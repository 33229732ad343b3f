import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { bytesToBase64url } from '../protocol/bytes.ts';
import {
  createEgressKey,
  encodeEgressKeyFile,
  parseEgressKeyFile,
} from '../protocol/egress-key.ts';
import type { KeyPair } from '../protocol/noise/crypto-suite.ts';
import { parseAllowEntry } from '../egress/destination-policy.ts';
import { isLogLevel, type LogLevel } from '../egress/log.ts';
import { startEgressServer } from '../egress/server.ts';
import { CliError, parseOptions, type Command } from './command.ts';

const DEFAULT_KEY_FILE = '.bu/egress-key.json';

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function hasCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && err.code === code;
}

/** Reads the key file, or creates it (mode 0600) when it does not exist yet. */
async function loadOrCreateKey(file: string): Promise<{ key: KeyPair; created: boolean }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (!hasCode(err, 'ENOENT')) throw new CliError(`cannot read ${file}: ${errorText(err)}`);
    const key = createEgressKey();
    try {
      await mkdir(dirname(file), { recursive: true, mode: 0o700 });
      await writeFile(file, encodeEgressKeyFile(key), { mode: 0o600, flag: 'wx' });
    } catch (writeErr) {
      throw new CliError(`cannot create ${file}: ${errorText(writeErr)}`);
    }
    return { key, created: true };
  }
  try {
    return { key: parseEgressKeyFile(text), created: false };
  } catch (err) {
    throw new CliError(`${file} is not an egress key file: ${errorText(err)}`);
  }
}

function integer(name: string, text: string, min: number, max: number): number {
  if (!/^[0-9]+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new CliError(
      `${name}: expected an integer in ${min}..${max}, got ${JSON.stringify(text)}`,
      2,
    );
  }
  return Number(text);
}

function flag(text: string | undefined): boolean {
  return text !== undefined && /^(1|true|yes)$/i.test(text);
}

function list(text: string | undefined): string[] {
  return (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export const egress: Command = {
  summary: 'run an egress server (/wisp/, /tunnel/, /metrics)',
  help: `Usage: bu egress [OPTIONS]

Runs the egress: a standard Wisp server at /wisp/, the encrypted tunnel
endpoint (Noise NK) at /tunnel/ and Prometheus metrics at /metrics. It prints
one JSON line on standard output once it listens ({"event":"listening",
"url":…,"publicKey":…}); logs go to standard error as JSON lines.

  --host HOST          address to listen on (BU_HOST; default 127.0.0.1)
  --port PORT          port; 0 picks a free one (BU_PORT; default 8000)
  --key FILE           egress key file, created (mode 0600) when missing
                       (BU_EGRESS_KEY; default ${DEFAULT_KEY_FILE})
  --allow HOST:PORT    let this destination through although the address
                       policy refuses it; repeatable (BU_EGRESS_ALLOW,
                       comma-separated)
  --allow-private      allow loopback, private and other non-public
                       addresses: development only (BU_EGRESS_ALLOW_PRIVATE=1)
  --max-streams N      streams per connection (BU_EGRESS_MAX_STREAMS; 256)
  --deny-ports LIST    comma-separated ports never dialled
                       (BU_EGRESS_DENY_PORTS; default 25)
  --max-connections-per-ip N
                       WebSocket connections per client address
                       (BU_EGRESS_MAX_CONNECTIONS_PER_IP; default 32)
  --log-level LEVEL    debug, info, warn, error or silent (BU_LOG_LEVEL; info)

Flags win over environment variables.`,

  async run(args) {
    const { values } = parseOptions(args, {
      host: { type: 'string' },
      port: { type: 'string' },
      key: { type: 'string' },
      allow: { type: 'string', multiple: true },
      'allow-private': { type: 'boolean' },
      'max-streams': { type: 'string' },
      'deny-ports': { type: 'string' },
      'max-connections-per-ip': { type: 'string' },
      'log-level': { type: 'string' },
    });
    const env = process.env;
    const host = values.host ?? env['BU_HOST'] ?? '127.0.0.1';
    const port = integer('--port', values.port ?? env['BU_PORT'] ?? '8000', 0, 65535);
    const keyFile = values.key ?? env['BU_EGRESS_KEY'] ?? DEFAULT_KEY_FILE;
    const allow = values.allow ?? list(env['BU_EGRESS_ALLOW']);
    const allowPrivate = values['allow-private'] ?? flag(env['BU_EGRESS_ALLOW_PRIVATE']);
    const maxStreams = values['max-streams'] ?? env['BU_EGRESS_MAX_STREAMS'];
    const denyPorts = values['deny-ports'] ?? env['BU_EGRESS_DENY_PORTS'];
    const perIp = values['max-connections-per-ip'] ?? env['BU_EGRESS_MAX_CONNECTIONS_PER_IP'];
    const logLevel = values['log-level'] ?? env['BU_LOG_LEVEL'] ?? 'info';
    if (!isLogLevel(logLevel))
      throw new CliError(`--log-level: unknown level ${JSON.stringify(logLevel)}`, 2);
    const level: LogLevel = logLevel;

    for (const entry of allow) {
      try {
        parseAllowEntry(entry);
      } catch (err) {
        throw new CliError(`--allow: ${errorText(err)}`, 2);
      }
    }
    const { key, created } = await loadOrCreateKey(keyFile);
    if (created) console.error(`created ${keyFile}`);
    let server;
    try {
      server = await startEgressServer({
        host,
        port,
        key,
        allow,
        allowPrivate,
        log: level,
        limits: {
          ...(maxStreams === undefined
            ? {}
            : { maxStreamsPerConnection: integer('--max-streams', maxStreams, 1, 65535) }),
          ...(perIp === undefined
            ? {}
            : { maxConnectionsPerIp: integer('--max-connections-per-ip', perIp, 1, 1_000_000) }),
          ...(denyPorts === undefined
            ? {}
            : { deniedPorts: list(denyPorts).map((p) => integer('--deny-ports', p, 1, 65535)) }),
        },
      });
    } catch (err) {
      if (err instanceof CliError) throw err;
      throw new CliError(errorText(err));
    }
    const publicKey = bytesToBase64url(key.publicKey);
    const wsBase = server.url.replace(/^http/, 'ws');
    console.error(`public key: ${publicKey}`);
    console.log(
      JSON.stringify({
        event: 'listening',
        url: server.url,
        wisp: `${wsBase}wisp/`,
        tunnel: `${wsBase}tunnel/`,
        metrics: `${server.url}metrics`,
        publicKey,
      }),
    );
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await server.close();
    return 0;
  },
};
