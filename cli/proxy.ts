import type { Socket } from 'node:net';
import { Consumer } from '../mesh/consumer.ts';
import { formatLogLine } from '../server-kit/logger.ts';
import { logLevelFlag, PEER_FLAGS, readLogLevel, readPeer } from './common-flags.ts';
import { listen } from '../server-kit/listen.ts';
import { gatherWithUdp } from './nat-gather.ts';
import { CliError, type Command } from './command.ts';
import { errorText, flagHelp, parseFlags, parseHostPort, urlHost, type Flag } from './flags.ts';
import { exitWhenIdle, installNodeWebrtc } from './node-webrtc.ts';
import { createProxyLog } from './proxy-log.ts';
import { createHttpProxy, createSocksProxy, type ProxyFailure } from './proxy-server.ts';
import { untilSignal } from './signals.ts';
import { formatBytes, StatusLine } from './status-line.ts';

const FLAGS: readonly Flag[] = [
  ...PEER_FLAGS,
  {
    name: 'http',
    type: 'string',
    arg: 'HOST:PORT',
    help: 'where the HTTP proxy listens (127.0.0.1:1080); port 0 picks one',
  },
  {
    name: 'socks',
    type: 'string',
    arg: 'HOST:PORT',
    help: 'where the SOCKS5 proxy listens (127.0.0.1:1081); port 0 picks one',
  },
  {
    name: 'egress-key',
    type: 'string',
    arg: 'KEY',
    // Not BU_EGRESS_KEY: that is `bu egress`'s key file.
    env: 'BU_PROXY_EGRESS_KEY',
    help: "use only the egress with this public key (base64url, from its operator); default: every egress in the signaling server's list, tunnels spread over the healthy ones",
  },
  {
    name: 'open-timeout',
    type: 'string',
    arg: 'MS',
    help: "how long a volunteer's data channel may take to open before another volunteer is tried in parallel (3000)",
  },
  {
    name: 'tunnel-timeout',
    type: 'string',
    arg: 'MS',
    help: 'how long a tunnel may take to open its data channel, and then its handshake with the egress, before it is given up (15000)',
  },
  {
    name: 'config-refresh',
    type: 'string',
    arg: 'MS',
    help: "how often the signaling server's egress list is read again (60000)",
  },
  {
    name: 'volunteers',
    type: 'string',
    arg: 'N',
    help: 'volunteers to keep tunnels through, 1..8 (2)',
  },
  logLevelFlag('only debug names destinations (host:port) in failure lines'),
];

interface Status {
  volunteers: number;
  egress: string | null;
  streams: number;
  bytesPerSecond: number;
  up: number;
  down: number;
  problem: string | null;
}

function render(status: Status): string {
  const head =
    status.volunteers > 0
      ? `proxy: ${status.volunteers} volunteer${status.volunteers === 1 ? '' : 's'} · egress ${status.egress ?? '?'}`
      : `proxy: waiting for a volunteer${status.problem ? ` (${status.problem})` : ''}`;
  return (
    `${head} · streams ${status.streams} · ${formatBytes(status.bytesPerSecond)}/s · ` +
    `↑ ${formatBytes(status.up)} ↓ ${formatBytes(status.down)}`
  );
}

export const proxy: Command = {
  summary: 'the desktop client: a local HTTP and SOCKS5 proxy through volunteers',
  help: `Usage: bu proxy --signaling URL [OPTIONS]

Runs a local HTTP proxy (CONNECT and http:// requests) and a SOCKS5 proxy
(no authentication, CONNECT; domain, IPv4 and IPv6 addresses). Every
connection goes through an encrypted tunnel (Noise NK) to the egress, carried
by volunteers the signaling server introduces; volunteers see ciphertext only.

  curl -x http://127.0.0.1:1080 http://example.org/
  curl --socks5-hostname 127.0.0.1:1081 https://example.org/

Options (each also as the environment variable in brackets; a flag wins):
${flagHelp(FLAGS)}

On start it prints one JSON line on stdout ({"event":"listening","http":…,
"socks":…}). The status line on stderr shows volunteers, egress, streams,
throughput and bytes; when stderr is not a terminal it is a JSON line
{"event":"status",…} every 2 s. With no volunteer, HTTP requests get 503 and
SOCKS requests reply 0x03 (network unreachable) while it keeps trying.

Where you go stays off your screen and out of logs: a connection that fails is
logged as {"event":"failure","stage":…,"code":…,"reason":…} without its
destination, and no other line names one. Only --log-level debug adds
"destination" (host:port) and the error's text. At warn only problems it
retries by itself are logged ({"event":"error",…}, e.g. the signaling server
is unreachable), with no status line; error and silent write nothing on
stderr but a fatal error. The listening line on stdout is always printed.
Ctrl-C stops it.`,

  async run(args) {
    const flags = parseFlags(args, FLAGS);
    const { signaling, nat, key } = readPeer(flags);
    const httpAt = parseHostPort(flags.text('http') ?? '127.0.0.1:1080', 'http');
    const socksAt = parseHostPort(flags.text('socks') ?? '127.0.0.1:1081', 'socks');
    const volunteers = flags.integer('volunteers', 1, 8) ?? 2;
    const egressKey = flags.text('egress-key');
    const openTimeoutMs = flags.integer('open-timeout', 1, 600_000);
    const tunnelTimeoutMs = flags.integer('tunnel-timeout', 1, 600_000);
    const configRefreshMs = flags.integer('config-refresh', 1, 86_400_000);
    const logLevel = readLogLevel(flags);
    let consumer: Consumer;
    try {
      consumer = new Consumer({
        signaling,
        volunteers,
        ...(nat === undefined ? {} : { nat }),
        natGatherer: gatherWithUdp,
        ...(egressKey === undefined ? {} : { egressKey }),
        ...(key === undefined ? {} : { key }),
        ...(openTimeoutMs === undefined ? {} : { openTimeoutMs }),
        ...(tunnelTimeoutMs === undefined ? {} : { tunnelTimeoutMs }),
        ...(configRefreshMs === undefined ? {} : { configRefreshMs }),
      });
    } catch (err) {
      throw new CliError(errorText(err), 2);
    }
    await installNodeWebrtc();

    // Log lines go through the status line, so that on a terminal they do not break it.
    const log = createProxyLog(logLevel, (text) => line.log(text));
    const line = new StatusLine<Status>(
      {
        volunteers: 0,
        egress: null,
        streams: 0,
        bytesPerSecond: 0,
        up: 0,
        down: 0,
        problem: null,
      },
      render,
      { quiet: !log.showsStatus },
    );
    let up = 0;
    let down = 0;
    let window = 0;
    const refresh = (): void => {
      const status = consumer.status;
      line.update({
        volunteers: status.volunteers,
        egress: status.egress ?? null,
        streams: status.streams,
        problem: status.problem ?? null,
        up,
        down,
      });
    };
    consumer.on('status', refresh);
    consumer.on('nat', ({ nat }) => log.nat(nat));
    const meter = setInterval(() => {
      line.update({ bytesPerSecond: window });
      window = 0;
      refresh();
    }, 1_000);
    meter.unref();

    const options = {
      dial: (host: string, port: number) => consumer.connect(host, port),
      onBytes: (u: number, d: number) => {
        up += u;
        down += d;
        window += u + d;
      },
      onFailure: (failure: ProxyFailure) => log.failure(failure),
    };
    const httpServer = createHttpProxy(options);
    const socksServer = createSocksProxy(options);
    const sockets = new Set<Socket>();
    for (const server of [httpServer, socksServer]) {
      server.on('connection', (socket: Socket) => {
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
      });
    }
    let httpPort: number;
    let socksPort: number;
    try {
      httpPort = await listen(httpServer, httpAt.host, httpAt.port);
      socksPort = await listen(socksServer, socksAt.host, socksAt.port);
    } catch (err) {
      httpServer.close();
      line.close();
      throw new CliError(`cannot listen: ${errorText(err)}`);
    }
    // Listen for Ctrl-C before saying we listen: a caller may signal as soon as it reads that.
    const stopped = untilSignal();
    console.log(
      formatLogLine('info', 'listening', {
        http: `http://${urlHost(httpAt.host)}:${httpPort}`,
        socks: `socks5h://${urlHost(socksAt.host)}:${socksPort}`,
      }),
    );

    void (async () => {
      // The signaling server may not be up yet: keep trying until it is, or until stopped.
      let attempt = 0;
      while (!stopped.signalled) {
        try {
          await consumer.start();
          return;
        } catch (err) {
          log.problem(errorText(err));
          line.update({ problem: errorText(err) });
          const wait = [1_000, 2_000, 5_000][Math.min(attempt++, 2)] ?? 5_000;
          await Promise.race([stopped.promise, new Promise((r) => setTimeout(r, wait))]);
        }
      }
    })();

    await stopped.promise;
    clearInterval(meter);
    for (const socket of sockets) socket.destroy();
    await Promise.all([
      new Promise((resolve) => httpServer.close(resolve)),
      new Promise((resolve) => socksServer.close(resolve)),
      consumer.stop(),
    ]);
    line.close();
    exitWhenIdle();
    return 0;
  },
};
