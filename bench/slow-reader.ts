/**
 * Bench 6, memory under a slow reader: a client opens streams through the egress to an origin
 * that sends as fast as it can, then reads nothing (its WebSocket is paused, so the kernel
 * buffers fill and the egress sees backpressure) for 30 s. Peak RSS growth of the egress, on
 * /wisp/ and on /tunnel/ at the same time (two egress processes).
 *
 *   node --import ./bench/register-ts.mjs bench/slow-reader.ts [--smoke] [--runs N]
 */
import { WebSocket } from 'ws';
import { encodeWispPacket } from '../protocol/wisp-codec.ts';
import { runIfMain, type BenchArgs } from './lib/args.ts';
import { openTunnel } from './lib/egress-clients.ts';
import {
  FLOOD,
  originRequest,
  startOrigin,
  startOurEgress,
  type OurEgress,
} from './lib/egress-servers.ts';
import { memory, memoryGrowth, MiB, sleep, type MemoryGrowth } from './lib/proc.ts';
import { machine, medianOf, writeResult, type Measurement, type Verdict } from './lib/result.ts';
import { summarize } from './lib/stats.ts';

const STREAMS = 8;
type Endpoint = '/wisp/' | '/tunnel/';
const ENDPOINTS: readonly Endpoint[] = ['/wisp/', '/tunnel/'];

interface SlowRun extends MemoryGrowth {
  readonly pushedMiB: number;
}

/** Opens the streams, asks the origin for an endless flood, then stops reading. */
async function stalledWisp(egress: OurEgress, originPort: number): Promise<() => void> {
  const ws = new WebSocket(egress.wisp, { perMessageDeflate: false });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  for (let streamId = 1; streamId <= STREAMS; streamId += 1) {
    ws.send(
      encodeWispPacket({
        type: 'connect',
        streamId,
        streamType: 'tcp',
        port: originPort,
        hostname: '127.0.0.1',
      }),
    );
    ws.send(encodeWispPacket({ type: 'data', streamId, payload: originRequest(FLOOD) }));
  }
  ws.pause();
  return () => ws.terminate();
}

async function stalledTunnel(egress: OurEgress, originPort: number): Promise<() => void> {
  const tunnel = await openTunnel(egress.tunnel, egress.publicKey);
  for (let i = 0; i < STREAMS; i += 1) {
    const stream = tunnel.client.openStream('127.0.0.1', originPort);
    const writer = stream.writable.getWriter();
    await writer.write(originRequest(FLOOD));
    writer.releaseLock();
  }
  tunnel.ws.pause();
  return () => tunnel.ws.terminate();
}

async function downBytes(egress: OurEgress, endpoint: Endpoint): Promise<number> {
  const text = await (await fetch(`${egress.url}metrics`)).text();
  const name = endpoint === '/wisp/' ? 'wisp' : 'tunnel';
  const line = text
    .split('\n')
    .find(
      (l) =>
        l.startsWith('bu_egress_bytes_total{') &&
        l.includes(`endpoint="${name}"`) &&
        l.includes('direction="down"'),
    );
  return Number(line?.split(' ').pop() ?? Number.NaN);
}

async function slowRun(originPort: number, stallMs: number): Promise<Record<Endpoint, SlowRun>> {
  const egresses = await Promise.all(ENDPOINTS.map(() => startOurEgress(originPort)));
  try {
    await sleep(300);
    const base = egresses.map((e) => memory(e.child.pid).rss);
    const [wispEgress, tunnelEgress] = egresses;
    if (wispEgress === undefined || tunnelEgress === undefined) throw new Error('no egress');
    const stops = [
      await stalledWisp(wispEgress, originPort),
      await stalledTunnel(tunnelEgress, originPort),
    ];
    await sleep(stallMs);
    const results = await Promise.all(
      ENDPOINTS.map(async (endpoint, i): Promise<SlowRun> => {
        const egress = egresses[i];
        if (egress === undefined) throw new Error('no egress');
        return {
          ...memoryGrowth(egress.child.pid, base[i] ?? 0),
          pushedMiB: (await downBytes(egress, endpoint)) / MiB,
        };
      }),
    );
    stops.forEach((stop) => stop());
    return { '/wisp/': results[0] ?? fail(), '/tunnel/': results[1] ?? fail() };
  } finally {
    await Promise.all(egresses.map((e) => e.stop()));
  }
}

function fail(): never {
  throw new Error('missing result');
}

export async function main(args: BenchArgs): Promise<void> {
  const stallMs = args.smoke ? 2_000 : 30_000;
  const origin = await startOrigin();
  const runs: Record<Endpoint, SlowRun[]> = { '/wisp/': [], '/tunnel/': [] };
  try {
    for (let run = 0; run < args.runs; run += 1) {
      const result = await slowRun(origin.port, stallMs);
      for (const endpoint of ENDPOINTS) {
        runs[endpoint].push(result[endpoint]);
        console.error(
          `slow-reader run ${run + 1}/${args.runs} ${endpoint}: +${result[endpoint].growthMiB.toFixed(1)} MiB, ${result[endpoint].pushedMiB.toFixed(1)} MiB sent down before backpressure`,
        );
      }
    }
  } finally {
    await origin.child.stop();
  }
  const metrics: readonly [keyof SlowRun, string, string][] = [
    ['growthMiB', 'egress RSS growth (peak − before)', 'MiB'],
    ['peakRssMiB', 'egress peak RSS', 'MiB'],
    ['pushedMiB', 'bytes the egress sent toward the stalled client', 'MiB'],
  ];
  const measurements: Measurement[] = metrics.flatMap(([key, metric, unit]) =>
    ENDPOINTS.map((endpoint) => ({
      metric,
      subject: `egress ${endpoint}`,
      unit,
      summary: summarize(runs[endpoint].map((r) => r[key])),
    })),
  );
  const verdicts: Verdict[] = ENDPOINTS.map((endpoint) => {
    const growth = medianOf(
      { measurements },
      'egress RSS growth (peak − before)',
      `egress ${endpoint}`,
    );
    const worst = Math.max(...runs[endpoint].map((r) => r.growthMiB));
    return {
      target: `egress (${endpoint}) grows by ≤ 64 MiB`,
      measured: `median +${growth.toFixed(1)} MiB, worst +${worst.toFixed(1)} MiB`,
      met: worst <= 64,
    };
  });
  await writeResult(args.out, {
    bench: 'slow-reader',
    title: `Memory under a slow reader (${stallMs / 1000} s, ${STREAMS} flooding streams)`,
    smoke: args.smoke,
    date: new Date().toISOString(),
    machine: machine(),
    runs: args.runs,
    setup: [
      `one client connection per endpoint with ${STREAMS} streams to a local origin that sends without end; the client then pauses its WebSocket (reads nothing) for ${stallMs / 1000} s`,
      '/wisp/: a raw ws client writing Wisp v1 CONNECT + DATA (protocol/wisp-codec.ts); /tunnel/: mesh TunnelClient (its downlink credits also apply)',
      'growth = VmHWM at the end − VmRSS after start; a fresh pair of egress processes per run, both endpoints measured at the same time',
      'the proxy and volunteer: bench/slow-reader-chain.ts',
    ],
    measurements,
    verdicts,
  });
}

runIfMain(import.meta.url, main);
