import { admissionIssuerFlags, admissionIssuing } from './admission-options.ts';
import { SignalingError } from '../signaling/errors.ts';
import { createLogger } from '../server-kit/logger.ts';
import { listenFlags, logLevelFlag, readListen, readLogLevel } from './common-flags.ts';
import { startSignalingServer, type ListenOptions } from '../signaling/server.ts';
import { CliError, type Command } from './command.ts';
import { flagHelp, parseFlags, type Flag } from './flags.ts';
import {
  EGRESS_FILE_FLAG,
  EGRESS_LIST_FLAG,
  egressList,
  readEgressFile,
  SIGNALING_FLAGS,
  signalingOptions,
} from './signaling-options.ts';

const DEFAULT_PORT = 9000;

/** Every flag, also readable from `BU_<NAME>` (upper case, `-` as `_`); the flag wins. */
const DEFAULT_ADMISSION_KEY_FILE = '.bu/admission-key.json';

const FLAGS: readonly Flag[] = [
  ...listenFlags(DEFAULT_PORT),
  { name: 'path', type: 'string', arg: 'PATH', help: 'prefix of every route (/)' },
  EGRESS_LIST_FLAG,
  EGRESS_FILE_FLAG,
  ...SIGNALING_FLAGS,
  ...admissionIssuerFlags(DEFAULT_ADMISSION_KEY_FILE),
  logLevelFlag(),
];

function helpText(): string {
  return `Usage: bu signaling [OPTIONS]

Runs the signaling server: the PeerJS server protocol (for the unmodified
peerjs client), matchmaking between consumers and volunteers, the client
config (ICE servers, egress list) and Prometheus metrics at {path}metrics.

Options (each also as the environment variable in brackets; a flag wins):
${flagHelp(FLAGS)}

On start it logs {"time":…,"level":"info","event":"listening","url":…} on stderr and prints the URL.
SIGHUP reloads the geoip files and the --egress-file list (a list that fails
its checks is logged and the old one kept); SIGINT or SIGTERM stops the server.
See docs/signaling.md.`;
}

export const signaling: Command = {
  summary: 'run the signaling server (PeerJS-compatible, with matchmaking)',
  help: helpText(),

  async run(args) {
    const flags = parseFlags(args, FLAGS);
    const logger = createLogger(readLogLevel(flags));
    const { host, port } = readListen(flags, DEFAULT_PORT);
    const path = flags.text('path');
    const egressFile = flags.text('egress-file');
    const fixedEgresses = egressList(flags);
    const readEgresses = async (): Promise<NonNullable<ListenOptions['egresses']>> => [
      ...fixedEgresses,
      ...(egressFile === undefined ? [] : await readEgressFile(egressFile)),
    ];
    let egresses;
    try {
      egresses = await readEgresses();
    } catch (err) {
      throw new CliError(`--egress-file: ${err instanceof Error ? err.message : String(err)}`, 2);
    }
    const admission = await admissionIssuing(flags, DEFAULT_ADMISSION_KEY_FILE);
    if (admission.created) logger.info('admission key created', { file: admission.file });
    const options: ListenOptions = {
      ...signalingOptions(flags),
      admission: admission.issuing,
      natProbeBind: host,
      host,
      port,
      logger,
      egresses,
      ...(path === undefined ? {} : { path }),
    };

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
      admissionKey: admission.publicKey,
    });
    console.log(`bu signaling: listening on ${running.url}`);

    const reload = (): void => {
      running.service.reloadGeoip().catch((err: unknown) =>
        logger.error('geoip reload failed', {
          error: err instanceof Error ? err.message : String(err),
        }),
      );
      if (egressFile === undefined) return;
      readEgresses()
        .then((list) => running.service.setEgresses(list))
        .catch((err: unknown) =>
          logger.error('egress list not reloaded', {
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
