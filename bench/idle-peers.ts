/**
 * Bench 2, idle peers: N PeerJS sockets connected and sending HEARTBEAT every 5 s, nothing
 * else. Server RSS per peer (RSS after settling minus RSS before connecting, over N), ours vs
 * the stock `peer` server, alternating within the run.
 *
 *   node --import ./bench/register-ts.mjs bench/idle-peers.ts [--smoke] [--runs N]
 */
import { runIfMain, type BenchArgs } from './lib/args.ts';
import { closePeers, connectPeers, heartbeats } from './lib/peerjs-clients.ts';
import { cpuSeconds, memory, sleep } from './lib/proc.ts';
import { machine, medianOf, writeResult, type Measurement } from './lib/result.ts';
import { OUR_BENCH_FLAGS, startSignaling, type SignalingSubject } from './lib/signaling-servers.ts';
import { summarize } from './lib/stats.ts';

interface IdleRun {
  readonly rssPerPeerKiB: number;
  readonly rssMiB: number;
  readonly peakRssMiB: number;
  readonly connectPerSecond: number;
  /** Server CPU while idle (heartbeats only), share of one core. */
  readonly idleCpu: number;
}

async function idleRun(
  subject: SignalingSubject,
  peersWanted: number,
  settleMs: number,
): Promise<IdleRun> {
  const server = await startSignaling(subject);
  await sleep(500);
  const before = memory(server.child.pid).rss;
  const t0 = performance.now();
  const peers = await connectPeers(server.wsUrl, peersWanted, 200);
  const connectSeconds = (performance.now() - t0) / 1000;
  const stop = heartbeats(peers);
  await sleep(settleMs / 2);
  const cpu0 = cpuSeconds(server.child.pid);
  await sleep(settleMs / 2);
  const idleCpu = (cpuSeconds(server.child.pid) - cpu0) / (settleMs / 2000);
  const after = memory(server.child.pid);
  stop();
  await closePeers(peers);
  await server.child.stop();
  return {
    rssPerPeerKiB: (after.rss - before) / peersWanted / 1024,
    rssMiB: after.rss / 2 ** 20,
    peakRssMiB: after.peak / 2 ** 20,
    connectPerSecond: peersWanted / connectSeconds,
    idleCpu,
  };
}

const METRICS: readonly [keyof IdleRun, string, string][] = [
  ['rssPerPeerKiB', 'RSS per idle peer', 'KiB'],
  ['rssMiB', 'server RSS with all peers', 'MiB'],
  ['peakRssMiB', 'server peak RSS', 'MiB'],
  ['connectPerSecond', 'connect rate (200 handshakes in parallel)', 'peers/s'],
  ['idleCpu', 'server CPU, heartbeats only', 'cores'],
];

export async function main(args: BenchArgs): Promise<void> {
  const count = args.smoke ? 200 : 5_000;
  const settleMs = args.smoke ? 1_000 : 12_000;
  const runs: Record<SignalingSubject, IdleRun[]> = { ours: [], peer: [] };
  for (let run = 0; run < args.runs; run += 1) {
    const order: SignalingSubject[] = run % 2 === 0 ? ['ours', 'peer'] : ['peer', 'ours'];
    for (const subject of order) {
      const result = await idleRun(subject, count, settleMs);
      runs[subject].push(result);
      console.error(
        `idle-peers run ${run + 1}/${args.runs} ${subject}: ${result.rssPerPeerKiB.toFixed(1)} KiB/peer, ${result.rssMiB.toFixed(0)} MiB`,
      );
    }
  }
  const measurements: Measurement[] = METRICS.flatMap(([key, metric, unit]) =>
    (['ours', 'peer'] as const).map((subject) => ({
      metric,
      subject,
      unit,
      summary: summarize(runs[subject].map((r) => r[key])),
    })),
  );
  const ours = medianOf({ measurements }, 'RSS per idle peer', 'ours');
  const peer = medianOf({ measurements }, 'RSS per idle peer', 'peer');
  await writeResult(args.out, {
    bench: 'idle-peers',
    title: `Idle peers: ${count} connected, heartbeats only`,
    smoke: args.smoke,
    date: new Date().toISOString(),
    machine: machine(),
    runs: args.runs,
    setup: [
      `${count} raw ws PeerJS sockets from one process (ulimit -n 20000 here), each sending HEARTBEAT every 5 s, spread evenly`,
      `RSS per peer = (VmRSS ${settleMs / 1000} s after the last OPEN − VmRSS before the first connect) / ${count}; a fresh server per run, order alternating`,
      `ours: bu signaling ${OUR_BENCH_FLAGS.join(' ')}: the per-address connection rate limit (60 burst, 10/s) and the 5,000 concurrent-id limit are lifted, since every client is 127.0.0.1`,
      'peer: PeerServer with concurrent_limit 100000 (its default, 5,000, would refuse the last peer or two only at exactly 5,000)',
      'RSS includes whatever garbage the collector has not yet reclaimed; neither process is forced to collect',
    ],
    measurements,
    verdicts: [
      {
        target: "RSS per idle peer ≤ peer's",
        measured: `${ours.toFixed(1)} KiB vs ${peer.toFixed(1)} KiB`,
        met: ours <= peer,
      },
    ],
  });
}

runIfMain(import.meta.url, main);
