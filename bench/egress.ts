/**
 * Bench 4, egress throughput: S concurrent streams over one WebSocket download 256 MiB in
 * total from a local origin. Our /wisp/ against the wisp-js server with the same client
 * (wisp-js's), and our /tunnel/ (Noise + sealed frames, mesh's TunnelClient) against our
 * /wisp/: the cost of the encryption.
 *
 *   node --import ./bench/register-ts.mjs bench/egress.ts [--smoke] [--runs N]
 */
import { installCryptoPrimitives } from '../server-kit/native-crypto.ts';
import { runIfMain, type BenchArgs } from './lib/args.ts';
import {
  downloadTunnel,
  downloadWispJs,
  newProgress,
  openTunnel,
  openWispJs,
  type Progress,
} from './lib/egress-clients.ts';
import { startOrigin, startOurEgress, startWispJs } from './lib/egress-servers.ts';
import { cpuSeconds, memory, MiB } from './lib/proc.ts';
import { machine, medianOf, writeResult, type Measurement, type Verdict } from './lib/result.ts';
import { summarize } from './lib/stats.ts';

type Subject = 'ours /wisp/' | 'wisp-js' | 'ours /tunnel/';
const SUBJECTS: readonly Subject[] = ['ours /wisp/', 'wisp-js', 'ours /tunnel/'];

/** A transfer with no byte received for this long is abandoned as stalled. */
const STALL_MS = 10_000;

interface TransferRun {
  /** Bytes delivered over the time to the last byte (all of them unless streams stalled). */
  readonly mibPerSecond: number;
  /** Streams that never finished (stalled: no byte for STALL_MS). */
  readonly stalledStreams: number;
  readonly serverCpuMsPerMiB: number;
  readonly serverPeakRssMiB: number;
}

async function transfer(
  subject: Subject,
  originPort: number,
  streams: number,
  totalBytes: number,
): Promise<TransferRun> {
  const perStream = Math.floor(totalBytes / streams);
  if (subject === 'wisp-js') {
    const server = await startWispJs();
    try {
      const conn = await openWispJs(server.url);
      const run = await timed(server.child.pid, streams, (progress) =>
        Promise.all(
          Array.from({ length: streams }, () =>
            downloadWispJs(conn, originPort, perStream, progress),
          ),
        ),
      );
      conn.close();
      return run;
    } finally {
      await server.child.stop();
    }
  }
  const egress = await startOurEgress(originPort);
  try {
    if (subject === 'ours /wisp/') {
      const conn = await openWispJs(egress.wisp);
      const run = await timed(egress.child.pid, streams, (progress) =>
        Promise.all(
          Array.from({ length: streams }, () =>
            downloadWispJs(conn, originPort, perStream, progress),
          ),
        ),
      );
      conn.close();
      return run;
    }
    const tunnel = await openTunnel(egress.tunnel, egress.publicKey);
    const run = await timed(egress.child.pid, streams, (progress) =>
      Promise.all(
        Array.from({ length: streams }, () =>
          downloadTunnel(tunnel, originPort, perStream, progress),
        ),
      ),
    );
    tunnel.client.close();
    return run;
  } finally {
    await egress.stop();
  }
}

async function timed(
  pid: number,
  streams: number,
  work: (progress: Progress) => Promise<unknown>,
): Promise<TransferRun> {
  const cpu0 = cpuSeconds(pid);
  const t0 = performance.now();
  const progress = newProgress();
  let watchdog: NodeJS.Timeout | undefined;
  const stalled = new Promise<void>((resolve) => {
    watchdog = setInterval(() => {
      if (performance.now() - progress.lastAt > STALL_MS) resolve();
    }, 500);
  });
  await Promise.race([work(progress), stalled]);
  clearInterval(watchdog);
  const seconds = (progress.lastAt - t0) / 1000;
  const cpu = cpuSeconds(pid) - cpu0;
  const mib = progress.bytes / MiB;
  return {
    mibPerSecond: mib / seconds,
    stalledStreams: streams - progress.finishedStreams,
    serverCpuMsPerMiB: (cpu * 1000) / mib,
    serverPeakRssMiB: memory(pid).peak / MiB,
  };
}

function stallText(runs: ReadonlyMap<string, readonly TransferRun[]>): string {
  const parts = [...runs].flatMap(([key, list]) => {
    const stalled = list.reduce((sum, r) => sum + r.stalledStreams, 0);
    return stalled === 0
      ? []
      : [`${key.replace('|', ', ')} streams: ${stalled} over ${list.length} runs`];
  });
  return parts.length === 0 ? 'none' : parts.join('; ');
}

export async function main(args: BenchArgs): Promise<void> {
  // The tunnel client in this process uses what bu proxy uses (native unless BU_CRYPTO=noble);
  // the egress process chooses the same way.
  const crypto = installCryptoPrimitives();
  const totalBytes = (args.smoke ? 8 : 256) * MiB;
  const streamCounts = [8, 64];
  const origin = await startOrigin();
  const runs = new Map<string, TransferRun[]>();
  try {
    for (let run = 0; run < args.runs; run += 1) {
      const order = run % 2 === 0 ? SUBJECTS : [...SUBJECTS].reverse();
      for (const streams of streamCounts) {
        for (const subject of order) {
          const result = await transfer(subject, origin.port, streams, totalBytes);
          const key = `${subject}|${streams}`;
          runs.set(key, [...(runs.get(key) ?? []), result]);
          console.error(
            `egress run ${run + 1}/${args.runs} ${subject} ${streams} streams: ${result.mibPerSecond.toFixed(0)} MiB/s${result.stalledStreams > 0 ? `, ${result.stalledStreams} streams stalled` : ''}`,
          );
        }
      }
    }
  } finally {
    await origin.child.stop();
  }
  const measurements: Measurement[] = [];
  const metrics: readonly [keyof TransferRun, string, string][] = [
    ['mibPerSecond', 'throughput', 'MiB/s'],
    ['serverCpuMsPerMiB', 'server CPU per MiB', 'ms'],
    ['serverPeakRssMiB', 'server peak RSS', 'MiB'],
  ];
  for (const streams of streamCounts) {
    for (const [key, metric, unit] of metrics) {
      for (const subject of SUBJECTS) {
        measurements.push({
          metric: `${metric}, ${streams} streams`,
          subject,
          unit,
          summary: summarize((runs.get(`${subject}|${streams}`) ?? []).map((r) => r[key])),
        });
      }
    }
  }
  const verdicts: Verdict[] = streamCounts.flatMap((streams) => {
    const metric = `throughput, ${streams} streams`;
    const wisp = medianOf({ measurements }, metric, 'ours /wisp/');
    const wispJs = medianOf({ measurements }, metric, 'wisp-js');
    const tunnel = medianOf({ measurements }, metric, 'ours /tunnel/');
    return [
      {
        target: `/wisp/ ≥ 1.2× wisp-js server (${streams} streams)`,
        measured: `${(wisp / wispJs).toFixed(2)}×`,
        met: wisp / wispJs >= 1.2,
      },
      {
        target: `/tunnel/ ≥ 0.7× /wisp/ (${streams} streams)`,
        measured: `${(tunnel / wisp).toFixed(2)}×`,
        met: tunnel / wisp >= 0.7,
      },
    ];
  });
  await writeResult(args.out, {
    bench: 'egress',
    title: 'Egress throughput: /wisp/ vs wisp-js server, /tunnel/ vs /wisp/',
    smoke: args.smoke,
    date: new Date().toISOString(),
    machine: machine(),
    runs: args.runs,
    setup: [
      `${totalBytes / MiB} MiB in total per transfer, split evenly over ${streamCounts.join(' or ')} concurrent streams on one WebSocket; direction: origin → client (downloads)`,
      'origin: a local TCP source in its own process (bench/servers/source-origin.mjs) that sends the byte count the client asks for',
      '/wisp/ and wisp-js: the wisp-js 0.5.0 client (Wisp v2 handshake) in the load-generator process; /tunnel/: mesh TunnelClient over ws (Noise NK, ChaCha20-Poly1305 frames of ≤ 16 KiB)',
      `Noise primitives on both ends of /tunnel/: ${crypto} (BU_CRYPTO; node:crypto unless it says noble)`,
      'ours: node dist/cli/bu.js egress --allow 127.0.0.1:ORIGIN --max-connections-per-ip 100000 --log-level warn; wisp-js: its server.routeRequest on a node:http server, allow_loopback_ips',
      'a fresh server process per transfer; the order of the three alternates each run',
      `a transfer with no byte for ${STALL_MS / 1000} s is abandoned; its throughput is then the bytes delivered over the time to the last byte. Stalled streams: ${stallText(runs)}`,
    ],
    measurements,
    verdicts,
  });
}

runIfMain(import.meta.url, main);
