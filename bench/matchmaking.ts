/**
 * Bench 3, matchmaking (our server only; `peer` has none): V volunteers hold a long poll
 * each, then C consumers ask for a volunteer all at once. Matches per second (C over the time
 * from the first match request to the last answer) and the time each consumer waited.
 *
 *   node --import ./bench/register-ts.mjs bench/matchmaking.ts [--smoke] [--runs N]
 */
import { runIfMain, type BenchArgs } from './lib/args.ts';
import { agent, postJson } from './lib/http-json.ts';
import { closePeers, connectPeers, heartbeats } from './lib/peerjs-clients.ts';
import { cpuSeconds, memory, sleep } from './lib/proc.ts';
import { machine, medianOf, writeResult, type Measurement } from './lib/result.ts';
import { OUR_BENCH_FLAGS, startSignaling } from './lib/signaling-servers.ts';
import { percentile, summarize } from './lib/stats.ts';

const EXTRA_FLAGS = ['--allow-same-ip', '--poll-timeout', '60000', '--match-timeout', '30000'];

interface MatchRun {
  readonly matchesPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly matched: number;
  readonly serverCpuMs: number;
  readonly peakRssMiB: number;
}

/**
 * Where each volunteer polls and each consumer asks from: 250 loopback addresses per side, as
 * strangers on many addresses would. From one address, the server's fair shares (an address's
 * share of the *other* addresses' slots) would rightly hold the whole burst to a few matches.
 */
const volunteerAddress = (i: number): string => `127.0.1.${(i % 250) + 1}`;
const consumerAddress = (i: number): string => `127.0.2.${(i % 250) + 1}`;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

async function matchRun(volunteers: number, consumers: number): Promise<MatchRun> {
  const server = await startSignaling('ours', EXTRA_FLAGS);
  const volunteerPeers = await connectPeers(server.wsUrl, volunteers, 200);
  const consumerPeers = await connectPeers(server.wsUrl, consumers, 200);
  const stop = heartbeats([...volunteerPeers, ...consumerPeers]);
  const pollUrl = `${server.httpUrl}v1/volunteer/poll`;
  const matchUrl = `${server.httpUrl}v1/consumer/match`;

  // Every volunteer polls once with one free slot; a match answers its poll.
  let polled = 0;
  const polls = volunteerPeers.map(async (peer, i) => {
    const answer = postJson(
      pollUrl,
      { id: peer.id, token: peer.token, slots: 1, nat: 'unrestricted', kind: 'browser' },
      volunteerAddress(i),
    );
    polled += 1;
    return answer;
  });
  // Let every poll reach the server before the first consumer arrives.
  while (polled < volunteers) await sleep(10);
  await sleep(Math.min(3_000, 200 + volunteers));

  const cpu0 = cpuSeconds(server.child.pid);
  const t0 = performance.now();
  const waits: number[] = [];
  let matched = 0;
  // Half the consumers behind a restricted NAT, half not: both branches of the NAT rule.
  await Promise.all(
    consumerPeers.map(async (peer, i) => {
      const start = performance.now();
      const { status, body } = await postJson(
        matchUrl,
        {
          id: peer.id,
          token: peer.token,
          count: 1,
          nat: i % 2 === 0 ? 'restricted' : 'unrestricted',
        },
        consumerAddress(i),
      );
      waits.push(performance.now() - start);
      if (status === 200 && isRecord(body) && Array.isArray(body['volunteers'])) {
        matched += body['volunteers'].length > 0 ? 1 : 0;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const serverCpuMs = (cpuSeconds(server.child.pid) - cpu0) * 1000;
  const { peak } = memory(server.child.pid);
  stop();
  await closePeers([...volunteerPeers, ...consumerPeers]);
  await Promise.allSettled(polls);
  await server.child.stop();
  agent.destroy();
  return {
    matchesPerSecond: matched / seconds,
    p50Ms: percentile(waits, 50),
    p99Ms: percentile(waits, 99),
    matched,
    serverCpuMs,
    peakRssMiB: peak / 2 ** 20,
  };
}

const METRICS: readonly [keyof MatchRun, string, string][] = [
  ['matchesPerSecond', 'matches', 'matches/s'],
  ['p50Ms', 'time to match p50', 'ms'],
  ['p99Ms', 'time to match p99', 'ms'],
  ['matched', 'consumers matched', 'count'],
  ['serverCpuMs', 'server CPU for the burst', 'ms'],
  ['peakRssMiB', 'server peak RSS', 'MiB'],
];

export async function main(args: BenchArgs): Promise<void> {
  const volunteers = args.smoke ? 100 : 2_000;
  const consumers = volunteers;
  const runs: MatchRun[] = [];
  for (let run = 0; run < args.runs; run += 1) {
    const result = await matchRun(volunteers, consumers);
    runs.push(result);
    console.error(
      `matchmaking run ${run + 1}/${args.runs}: ${Math.round(result.matchesPerSecond)} matches/s, p99 ${result.p99Ms.toFixed(0)} ms, ${result.matched} matched`,
    );
  }
  const measurements: Measurement[] = METRICS.map(([key, metric, unit]) => ({
    metric,
    subject: 'ours',
    unit,
    summary: summarize(runs.map((r) => r[key])),
  }));
  const matched = medianOf({ measurements }, 'consumers matched', 'ours');
  await writeResult(args.out, {
    bench: 'matchmaking',
    title: `Matchmaking: ${volunteers} volunteers polling, ${consumers} consumers matching`,
    smoke: args.smoke,
    date: new Date().toISOString(),
    machine: machine(),
    runs: args.runs,
    setup: [
      `${volunteers} volunteers (PeerJS socket + one long poll each, 1 free slot, NAT unrestricted) wait first; then ${consumers} consumers (PeerJS socket each, half restricted NAT) send POST v1/consumer/match {count: 1} all at once over keep-alive HTTP; volunteers poll from 127.0.1.1–250 and consumers ask from 127.0.2.1–250, as strangers on many addresses`,
      'matches/s = consumers matched / (first match request → last answer); time to match = each request’s round trip',
      `bu signaling ${[...OUR_BENCH_FLAGS, ...EXTRA_FLAGS].join(' ')} (rate limits lifted; the PeerJS sockets all come from 127.0.0.1)`,
      'no target in the issue; our server only (peer has no matchmaking)',
    ],
    measurements,
    verdicts: [
      {
        target: 'every consumer matched (no target for speed)',
        measured: `${matched} of ${consumers}`,
        met: matched === consumers,
      },
    ],
  });
}

runIfMain(import.meta.url, main);
