import { Volunteer, type VolunteerState } from '../mesh/volunteer.ts';
import type { TunnelRefusalReason } from '../protocol/tunnel-refused.ts';
import { formatLogLine } from '../server-kit/logger.ts';
import { PEER_FLAGS, readPeer } from './common-flags.ts';
import { gatherWithUdp } from './nat-gather.ts';
import { CliError, type Command } from './command.ts';
import { errorText, flagHelp, parseFlags, type Flag } from './flags.ts';
import { exitWhenIdle, installNodeWebrtc } from './node-webrtc.ts';
import { formatBytes, StatusLine } from './status-line.ts';
import { untilSignal } from './signals.ts';

const FLAGS: readonly Flag[] = [
  ...PEER_FLAGS,
  { name: 'slots', type: 'string', arg: 'N', help: 'consumers served at once, 0..64 (5)' },
  {
    name: 'rate',
    type: 'string',
    arg: 'BYTES_PER_S',
    help: 'bandwidth limit for all consumers together, bytes per second; 0 is unlimited (0)',
  },
  {
    name: 'max-tunnels-per-consumer',
    type: 'string',
    arg: 'N',
    help: 'tunnels one consumer may have through this volunteer at once, 1..64; more are refused (4)',
  },
];

interface Status {
  state: VolunteerState;
  consumers: number;
  bytesPerSecond: number;
  up: number;
  down: number;
  /** Refused data connections since start, by reason. */
  refused: Readonly<Record<TunnelRefusalReason, number>>;
}

function render(status: Status): string {
  const refused = Object.values(status.refused).reduce((sum, count) => sum + count, 0);
  return (
    `volunteer: ${status.state} · consumers ${status.consumers} · ` +
    `${formatBytes(status.bytesPerSecond)}/s · ↑ ${formatBytes(status.up)} ↓ ${formatBytes(status.down)}` +
    (refused > 0 ? ` · refused ${refused}` : '')
  );
}

export const volunteer: Command = {
  summary: "share this machine's connection: a headless volunteer (WebRTC in, WebSocket out)",
  help: `Usage: bu volunteer --signaling URL [OPTIONS]

Runs a volunteer without a browser: it asks the signaling server for
consumers, accepts WebRTC data channels from the ones it is matched with, and
relays their encrypted tunnels to the egress they name (from the signaling
server's egress list only). It sees ciphertext only.

Options (each also as the environment variable in brackets; a flag wins):
${flagHelp(FLAGS)}

The status line on stderr shows state, consumers, throughput, bytes
(↑ consumer → egress, ↓ egress → consumer) and refused tunnels. When stderr
is not a terminal it is a JSON line {"event":"status",…} every 2 s, with the
refusals by reason in "refused". The first refusal for each reason is also
logged as {"event":"refused","reason":…,"counts":{…}}. Ctrl-C stops it.`,

  async run(args) {
    const flags = parseFlags(args, FLAGS);
    const { signaling, nat, key } = readPeer(flags);
    const slots = flags.integer('slots', 0, 64) ?? 5;
    const rate = flags.integer('rate', 0, Number.MAX_SAFE_INTEGER) ?? 0;
    const maxTunnelsPerConsumer = flags.integer('max-tunnels-per-consumer', 1, 64) ?? 4;
    let runtime: Volunteer;
    try {
      runtime = new Volunteer({
        signaling,
        kind: 'node',
        slots,
        rate,
        maxTunnelsPerConsumer,
        ...(nat === undefined ? {} : { nat }),
        natGatherer: gatherWithUdp,
        ...(key === undefined ? {} : { key }),
      });
    } catch (err) {
      throw new CliError(errorText(err), 2);
    }
    const stopped = untilSignal();
    await installNodeWebrtc();

    const line = new StatusLine<Status>(
      {
        state: 'off',
        consumers: 0,
        bytesPerSecond: 0,
        up: 0,
        down: 0,
        refused: runtime.refusals,
      },
      render,
    );
    const open = new Set<string>();
    runtime.on('state', ({ state }) => line.update({ state }));
    runtime.on('connection', ({ peer, open: isOpen }) => {
      if (isOpen) open.add(peer);
      else open.delete(peer);
      line.update({ consumers: open.size });
    });
    runtime.on('throughput', ({ bytesPerSecond }) => line.update({ bytesPerSecond }));
    runtime.on('bytes', ({ up, down }) => line.update({ up, down }));
    runtime.on('refused', ({ reason, counts }) => {
      line.update({ refused: counts });
      // Counts go in the status line; a log line only the first time for each reason, so a
      // consumer that keeps trying cannot flood the log.
      if (counts[reason] === 1) line.log(formatLogLine('info', 'refused', { reason, counts }));
    });
    runtime.on('nat', ({ nat }) => line.log(formatLogLine('info', 'nat', { nat })));
    let lastError = '';
    runtime.on('error', ({ error }) => {
      // The poll loop retries on its own; say each distinct problem once.
      if (error.message === lastError) return;
      lastError = error.message;
      line.log(formatLogLine('warn', 'error', { message: error.message }));
    });

    // Keep trying to start until stopped: the signaling server may come up later.
    let attempt = 0;
    while (!stopped.signalled) {
      try {
        await runtime.start();
        break;
      } catch {
        const wait = [1_000, 2_000, 5_000][Math.min(attempt++, 2)] ?? 5_000;
        await Promise.race([stopped.promise, new Promise((r) => setTimeout(r, wait))]);
      }
    }
    await stopped.promise;
    await runtime.stop();
    line.close();
    exitWhenIdle();
    return 0;
  },
};
