/**
 * Bench 1, signaling relay: pairs of raw PeerJS clients trade OFFER / ANSWER / CANDIDATE
 * messages through the server as fast as it relays them (closed loop: every message received
 * is answered at once, with a fixed number of messages in flight per pair). Ours (`bu
 * signaling`) against the stock `peer` server, alternating within the run.
 *
 *   node --import ./bench/register-ts.mjs bench/signaling-relay.ts [--smoke] [--runs N]
 */
import { WebSocket } from 'ws';
import { runIfMain, type BenchArgs } from './lib/args.ts';
import { closePeers, connectPeers, heartbeats, type RawPeer } from './lib/peerjs-clients.ts';
import { cpuSeconds, memory, sleep } from './lib/proc.ts';
import { machine, medianOf, writeResult, type Measurement } from './lib/result.ts';
import { startSignaling, OUR_BENCH_FLAGS, type SignalingSubject } from './lib/signaling-servers.ts';
import { percentile, summarize } from './lib/stats.ts';

export interface RelayRun {
  readonly messagesPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Server CPU over the window, as a share of one core (1 = 100 %). */
  readonly serverCpu: number;
  /** Server CPU time per relayed message, microseconds. */
  readonly serverCpuUsPerMessage: number;
  readonly serverPeakRssMiB: number;
  /** This (client) process's CPU over the window, share of one core. */
  readonly clientCpu: number;
}

export interface RelayLoad {
  readonly pairs: number;
  /** Messages in flight per pair (each direction's chain counts as one). */
  readonly window: number;
  readonly warmupMs: number;
  readonly measureMs: number;
}

const SDP = [
  'v=0',
  'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0',
  'a=extmap-allow-mixed',
  'a=msid-semantic: WMS',
  'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
  'c=IN IP4 0.0.0.0',
  'a=ice-ufrag:Yx7B',
  'a=ice-pwd:p4Y0kKq0s3vGfEXaS9p2Lq1m',
  'a=ice-options:trickle',
  'a=fingerprint:sha-256 3A:91:5C:0E:7B:41:D2:88:0F:AA:63:17:9C:2B:5E:D0:41:7F:93:0C:6A:28:B4:E1:55:9D:3F:72:C8:06:1B:AE',
  'a=setup:actpass',
  'a=mid:0',
  'a=sctp-port:5000',
  'a=max-message-size:262144',
  '',
].join('\r\n');

/** The payloads the peerjs client sends, with `t` (send time) first so it is cheap to find. */
function payloadTail(kind: 'offer' | 'answer' | 'candidate'): string {
  const common = { type: 'data', connectionId: 'dc_7k2m9x4q1w' };
  const body =
    kind === 'candidate'
      ? {
          candidate: {
            candidate: 'candidate:842163049 1 udp 2122260223 10.77.0.2 54321 typ host generation 0',
            sdpMid: '0',
            sdpMLineIndex: 0,
            usernameFragment: 'Yx7B',
          },
          ...common,
        }
      : {
          sdp: { type: kind, sdp: SDP },
          ...common,
          browser: 'chrome',
          label: 'dc_7k2m9x4q1w',
          reliable: true,
          serialization: 'binary',
        };
  return `${JSON.stringify(body).slice(1)}}`;
}

const TAILS = {
  OFFER: payloadTail('offer'),
  ANSWER: payloadTail('answer'),
  CANDIDATE: payloadTail('candidate'),
};
/** The caller sends OFFER then its candidates; the callee ANSWER then its candidates. */
const CALLER_TYPES = ['OFFER', 'CANDIDATE', 'CANDIDATE'] as const;
const CALLEE_TYPES = ['ANSWER', 'CANDIDATE', 'CANDIDATE'] as const;

function message(type: keyof typeof TAILS, dst: string, now: number): string {
  return `{"type":"${type}","dst":"${dst}","payload":{"t":${now},${TAILS[type]}`;
}

/** Runs the closed loop against one server and measures it. */
export async function relayRun(subject: SignalingSubject, load: RelayLoad): Promise<RelayRun> {
  const server = await startSignaling(subject);
  const peers = await connectPeers(server.wsUrl, load.pairs * 2);
  const stopHeartbeats = heartbeats(peers);
  let measuring = false;
  let running = true;
  let received = 0;
  const latencies: number[] = [];

  const wire = (self: RawPeer, other: RawPeer, types: readonly (keyof typeof TAILS)[]): void => {
    let n = 0;
    self.ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) return;
      const text = data.toString();
      const at = text.indexOf('"t":');
      if (at < 0) return; // EXPIRE, LEAVE, errors: not part of the loop
      const now = performance.now();
      if (measuring) {
        received += 1;
        latencies.push(now - Number.parseFloat(text.slice(at + 4, text.indexOf(',', at))));
      }
      if (running && self.ws.readyState === WebSocket.OPEN) {
        self.ws.send(message(types[n++ % types.length] ?? 'CANDIDATE', other.id, now));
      }
    });
  };
  for (let i = 0; i < load.pairs; i += 1) {
    const caller = peers[2 * i];
    const callee = peers[2 * i + 1];
    if (caller === undefined || callee === undefined) throw new Error('missing peer');
    wire(caller, callee, CALLER_TYPES);
    wire(callee, caller, CALLEE_TYPES);
    for (let w = 0; w < load.window; w += 1) {
      caller.ws.send(message(CALLER_TYPES[w % 3] ?? 'OFFER', callee.id, performance.now()));
    }
  }

  await sleep(load.warmupMs);
  const cpu0 = cpuSeconds(server.child.pid);
  const client0 = process.cpuUsage();
  const t0 = performance.now();
  measuring = true;
  await sleep(load.measureMs);
  measuring = false;
  const seconds = (performance.now() - t0) / 1000;
  const serverCpuSeconds = cpuSeconds(server.child.pid) - cpu0;
  const client = process.cpuUsage(client0);
  const { peak } = memory(server.child.pid);
  running = false;
  stopHeartbeats();
  await sleep(200);
  await closePeers(peers);
  await server.child.stop();

  return {
    messagesPerSecond: received / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    serverCpu: serverCpuSeconds / seconds,
    serverCpuUsPerMessage: (serverCpuSeconds * 1e6) / Math.max(1, received),
    serverPeakRssMiB: peak / 2 ** 20,
    clientCpu: (client.user + client.system) / 1e6 / seconds,
  };
}

const METRICS: readonly [keyof RelayRun, string, string][] = [
  ['messagesPerSecond', 'messages relayed', 'msg/s'],
  ['p50Ms', 'latency p50', 'ms'],
  ['p99Ms', 'latency p99', 'ms'],
  ['serverCpu', 'server CPU', 'cores'],
  ['serverCpuUsPerMessage', 'server CPU per message', 'µs'],
  ['serverPeakRssMiB', 'server peak RSS', 'MiB'],
  ['clientCpu', 'load generator CPU', 'cores'],
];

export async function main(args: BenchArgs): Promise<void> {
  const load: RelayLoad = args.smoke
    ? { pairs: 20, window: 2, warmupMs: 300, measureMs: 1_000 }
    : { pairs: 200, window: 2, warmupMs: 2_000, measureMs: 10_000 };
  const runs: Record<SignalingSubject, RelayRun[]> = { ours: [], peer: [] };
  for (let run = 0; run < args.runs; run += 1) {
    // Alternate who goes first, so drift on a shared machine hits both alike.
    const order: SignalingSubject[] = run % 2 === 0 ? ['ours', 'peer'] : ['peer', 'ours'];
    for (const subject of order) {
      const result = await relayRun(subject, load);
      runs[subject].push(result);
      console.error(
        `signaling-relay run ${run + 1}/${args.runs} ${subject}: ${Math.round(result.messagesPerSecond)} msg/s, p99 ${result.p99Ms.toFixed(1)} ms, cpu ${result.serverCpu.toFixed(2)}`,
      );
    }
  }
  const measurements: Measurement[] = [];
  for (const [key, metric, unit] of METRICS) {
    for (const subject of ['ours', 'peer'] as const) {
      measurements.push({
        metric,
        subject,
        unit,
        summary: summarize(runs[subject].map((r) => r[key])),
      });
    }
  }
  const result = { measurements };
  const throughput =
    medianOf(result, 'messages relayed', 'ours') / medianOf(result, 'messages relayed', 'peer');
  const p99Ours = medianOf(result, 'latency p99', 'ours');
  const p99Peer = medianOf(result, 'latency p99', 'peer');
  await writeResult(args.out, {
    bench: 'signaling-relay',
    title: 'Signaling relay: ours vs peer 1.0.2',
    smoke: args.smoke,
    date: new Date().toISOString(),
    machine: machine(),
    runs: args.runs,
    setup: [
      `${load.pairs} pairs of raw ws PeerJS clients (${load.pairs * 2} sockets) in one load-generator process; ${load.window} messages in flight per pair, each answered on receipt (closed loop); OFFER/ANSWER with a 600-byte data-channel SDP, CANDIDATE about 250 bytes; HEARTBEAT every 5 s per peer`,
      `${load.warmupMs / 1000} s warm-up, then ${load.measureMs / 1000} s measured; a fresh server process per run; order alternates each run`,
      'latency: one way, sender to receiver, both in the load generator (one clock)',
      `ours: node dist/cli/bu.js signaling ${OUR_BENCH_FLAGS.join(' ')} (rate limits lifted: all clients share 127.0.0.1)`,
      'peer: PeerServer({host: 127.0.0.1, port: 0, concurrent_limit: 100000}) from the peer package, no per-connection logging',
      'server CPU: utime+stime from /proc/PID/stat over the window; peak RSS: VmHWM',
    ],
    measurements,
    verdicts: [
      {
        target: "messages/s ≥ 1.5× peer's",
        measured: `${throughput.toFixed(2)}× peer`,
        met: throughput >= 1.5,
      },
      {
        target: "p99 latency no worse than peer's",
        measured: `${p99Ours.toFixed(1)} ms vs ${p99Peer.toFixed(1)} ms`,
        met: p99Ours <= p99Peer,
      },
    ],
  });
}

runIfMain(import.meta.url, main);
