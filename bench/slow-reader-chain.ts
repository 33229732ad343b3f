/**
 * Bench 7, second half: memory under a slow reader through the whole chain. A client opens
 * streams through `bu proxy` (HTTP CONNECT) → `bu volunteer` → `bu serve` (egress) to an origin
 * that sends without end, then reads nothing for 30 s. Peak RSS growth of the proxy, the
 * volunteer and the egress. (The egress alone, on /wisp/ and /tunnel/, is bench/slow-reader.ts.)
 * Runs inside scripts/netns-run (WebRTC); bench/run.ts puts it there.
 *
 *   node --import ./bench/register-ts.mjs bench/run.ts slow-reader-chain [--smoke] [--runs N]
 */
import { connect, type Socket } from 'node:net';
import {
  startProxy,
  startServe,
  startVolunteer,
  waitForVolunteers,
  type BuProcess,
} from '../test/e2e/chain-harness.ts';
import { runIfMain, type BenchArgs } from './lib/args.ts';
import { FLOOD, originRequest, startOrigin } from './lib/egress-servers.ts';
import { insideNetns } from './lib/netns.ts';
import { memory, memoryGrowth, sleep, type MemoryGrowth } from './lib/proc.ts';
import { machine, writeResult, type Measurement, type Verdict } from './lib/result.ts';
import { summarize } from './lib/stats.ts';

const STREAMS = 8;
const LIMIT_MIB = 64;
const ROLES = ['bu proxy', 'volunteer (bu volunteer)', 'egress (bu serve)'] as const;
type Role = (typeof ROLES)[number];

/** A CONNECT tunnel through the proxy to the origin, flooding, that is then never read. */
async function stalledStream(proxy: string, originPort: number): Promise<Socket> {
  const { hostname, port } = new URL(proxy);
  const socket = connect(Number(port), hostname);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(`CONNECT 127.0.0.1:${originPort} HTTP/1.1\r\nHost: 127.0.0.1:${originPort}\r\n\r\n`);
  let head = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      if (!/^HTTP\/1\.[01] 200/.test(head)) reject(new Error(`CONNECT refused: ${head}`));
      else resolve();
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
  socket.pause();
  socket.write(originRequest(FLOOD));
  return socket;
}

async function slowRun(originPort: number, stallMs: number): Promise<Record<Role, MemoryGrowth>> {
  const serve = await startServe([`127.0.0.1:${originPort}`]);
  const processes: BuProcess[] = [serve.process];
  const sockets: Socket[] = [];
  try {
    const volunteer = await startVolunteer(serve.signaling);
    processes.push(volunteer);
    const proxy = await startProxy(serve.signaling, ['--volunteers', '1']);
    processes.push(proxy.process);
    await waitForVolunteers(proxy, 1);
    await sleep(500);
    const pids: Record<Role, number> = {
      'bu proxy': proxy.process.child.pid ?? 0,
      'volunteer (bu volunteer)': volunteer.child.pid ?? 0,
      'egress (bu serve)': serve.process.child.pid ?? 0,
    };
    const base = Object.fromEntries(ROLES.map((role) => [role, memory(pids[role]).rss]));
    for (let i = 0; i < STREAMS; i++) sockets.push(await stalledStream(proxy.http, originPort));
    await sleep(stallMs);
    const result = Object.fromEntries(
      ROLES.map((role) => [role, memoryGrowth(pids[role], base[role] ?? 0)]),
    ) as Record<Role, MemoryGrowth>;
    return result;
  } finally {
    for (const socket of sockets) socket.destroy();
    for (const process of processes.reverse()) await process.stop();
  }
}

export async function main(args: BenchArgs): Promise<void> {
  if (!insideNetns()) throw new Error('run this bench through bench/run.ts (it needs netns-run)');
  const stallMs = args.smoke ? 2_000 : 30_000;
  const origin = await startOrigin();
  const runs: Record<Role, MemoryGrowth[]> = {
    'bu proxy': [],
    'volunteer (bu volunteer)': [],
    'egress (bu serve)': [],
  };
  try {
    for (let run = 0; run < args.runs; run += 1) {
      const result = await slowRun(origin.port, stallMs);
      for (const role of ROLES) runs[role].push(result[role]);
      console.error(
        `slow-reader-chain run ${run + 1}/${args.runs}: ${ROLES.map((r) => `${r} +${result[r].growthMiB.toFixed(1)} MiB`).join(', ')}`,
      );
    }
  } finally {
    await origin.child.stop();
  }
  const measurements: Measurement[] = [
    ...ROLES.map((role) => ({
      metric: 'RSS growth (peak − before)',
      subject: role,
      unit: 'MiB',
      summary: summarize(runs[role].map((r) => r.growthMiB)),
    })),
    ...ROLES.map((role) => ({
      metric: 'peak RSS',
      subject: role,
      unit: 'MiB',
      summary: summarize(runs[role].map((r) => r.peakRssMiB)),
    })),
  ];
  const verdicts: Verdict[] = ROLES.map((role) => {
    const worst = Math.max(...runs[role].map((r) => r.growthMiB));
    return {
      target: `${role} grows by ≤ ${LIMIT_MIB} MiB under a slow reader`,
      measured: `worst +${worst.toFixed(1)} MiB`,
      met: worst <= LIMIT_MIB,
    };
  });
  await writeResult(args.out, {
    bench: 'slow-reader-chain',
    title: `Memory under a slow reader through the chain (${stallMs / 1000} s, ${STREAMS} flooding streams)`,
    smoke: args.smoke,
    date: new Date().toISOString(),
    machine: machine(),
    runs: args.runs,
    setup: [
      `${STREAMS} CONNECT tunnels through bu proxy (HTTP) → bu volunteer → bu serve to a local origin that sends without end; the client then reads nothing for ${stallMs / 1000} s`,
      'growth = VmHWM at the end − VmRSS once the tunnel is up; fresh processes per run',
    ],
    measurements,
    verdicts,
  });
}

runIfMain(import.meta.url, main);
