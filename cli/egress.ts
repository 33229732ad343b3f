import { bytesToBase64url } from '../protocol/bytes.ts';
import { formatLogLine } from '../server-kit/logger.ts';
import { listenFlags, logLevelFlag, readListen, readLogLevel } from './common-flags.ts';
import { startEgressServer } from '../egress/server.ts';
import { ADMISSION_EGRESS_FLAGS, egressAdmission } from './admission-options.ts';
import { CliError, type Command } from './command.ts';
import { EGRESS_FLAGS, egressPolicy, loadOrCreateKey } from './egress-options.ts';
import { untilSignal } from './signals.ts';
import { errorText, flagHelp, parseFlags, type Flag } from './flags.ts';

const DEFAULT_KEY_FILE = '.bu/egress-key.json';
const DEFAULT_PORT = 8000;

const FLAGS: readonly Flag[] = [
  ...listenFlags(DEFAULT_PORT),
  {
    name: 'key',
    type: 'string',
    arg: 'FILE',
    env: 'BU_EGRESS_KEY',
    help: `egress key file, created (mode 0600) when missing (${DEFAULT_KEY_FILE})`,
  },
  ...EGRESS_FLAGS,
  ...ADMISSION_EGRESS_FLAGS,
  logLevelFlag(),
];

export const egress: Command = {
  summary: 'run an egress server (/wisp/, /tunnel/, /metrics)',
  help: `Usage: bu egress [OPTIONS]

Runs the egress: a standard Wisp server at /wisp/, the encrypted tunnel
endpoint (Noise NK) at /tunnel/ and Prometheus metrics at /metrics. It prints
one JSON line on standard output once it listens ({"event":"listening",
"url":…,"publicKey":…}); logs go to standard error as JSON lines.

Options (each also as the environment variable in brackets; a flag wins):
${flagHelp(FLAGS)}

SIGINT or SIGTERM closes every connection and exits. See docs/egress.md.`,

  async run(args) {
    const flags = parseFlags(args, FLAGS);
    const { host, port } = readListen(flags, DEFAULT_PORT);
    const keyFile = flags.text('key') ?? DEFAULT_KEY_FILE;
    const level = readLogLevel(flags);
    const policy = egressPolicy(flags);
    const admission = egressAdmission(flags);
    const { key, created } = await loadOrCreateKey(keyFile);
    if (created) console.error(`created ${keyFile}`);
    let server;
    try {
      server = await startEgressServer({ host, port, key, log: level, admission, ...policy });
    } catch (err) {
      throw new CliError(errorText(err));
    }
    // Listen for Ctrl-C before saying we listen: a caller may signal as soon as it reads that.
    const stopped = untilSignal();
    const publicKey = bytesToBase64url(key.publicKey);
    const wsBase = server.url.replace(/^http/, 'ws');
    console.error(`public key: ${publicKey}`);
    console.log(
      formatLogLine('info', 'listening', {
        url: server.url,
        wisp: `${wsBase}wisp/`,
        tunnel: `${wsBase}tunnel/`,
        metrics: `${server.url}metrics`,
        publicKey,
      }),
    );
    await stopped.promise;
    await server.close();
    return 0;
  },
};
