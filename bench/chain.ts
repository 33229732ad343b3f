/**
 * Bench 5, the chain: a download of 128 MiB from a local origin through `bu proxy` →
 * volunteer → egress (`bu serve`), with the volunteer on node-datachannel (`bu volunteer`) and
 * in real Chromium, against a raw transfer of the same size over one data channel between the
 * same two WebRTC stacks (no signaling server, no Noise, no relays), in the same run. Also the
 * time from spawning `bu proxy` to the first byte of a response through it (once per run, and
 * over 25 starts in a row per volunteer kind, where a rare stall of the first tunnel shows), and
 * the CPU each process spends per MiB, to show where the time goes.
 *
 * Must run inside scripts/netns-run (WebRTC needs a non-loopback interface; nothing may leave
 * the machine): bench/run.ts does that by itself.
 *
 *   node --import ./bench/register-ts.mjs bench/run.ts chain [--smoke] [--runs N]
 */
import { loadavg } from 'node:os';
import type { Page } from 'playwright-core';
import { startOrigins, type Origins } from '../test/e2e/chain-harness.ts';
import { launchChromium, type LaunchedChromium } from '../test/e2e/chromium.ts';
import { runIfMain, type BenchArgs } from './lib/args.ts';
import {
  CHAIN_PROCESSES,
  chainTransfer,
  firstByteStarts,
  type ChainProcess,
  type ChainRun,
  type FirstByteStarts,
  type VolunteerKind,
} from './lib/chain-run.ts';
import { startVolunteerSite, type VolunteerSite } from './lib/chromium-volunteer.ts';
import { insideNetns } from './lib/netns.ts';
import { MiB } from './lib/proc.ts';
import { CpuMeter, chromiumPids } from './lib/process-tree.ts';
import { rawChromiumToNode, rawNodeToNode } from './lib/raw-datachannel.ts';
import { machine, writeResult, type Measurement, type Verdict } from './lib/result.ts';
import { summarize } from './lib/stats.ts';

const TARGET = 0.6;
/** `bu proxy` starts per volunteer kind for time to first byte (issue 14: at least 20). */
const FIRST_BYTE_STARTS = 25;
const SMOKE_FIRST_BYTE_STARTS = 3;
/** Time to first byte no start may exceed (issue 14). */
const FIRST_BYTE_MAX_MS = 5_000;
/** Broken chain transfers in one run and kind before the bench gives up. */
const MAX_FAILURES = 3;
const KINDS: readonly VolunteerKind[] = ['node', 'chromium'];
const KIND_NAME: Record<VolunteerKind, string> = {
  node: 'Node volunteer (bu volunteer)',
  chromium: 'Chromium volunteer',
};
const PROCESS_NAME: Record<ChainProcess, string> = {
  proxy: 'bu proxy',
  volunteer: 'volunteer',
  egress: 'egress (bu serve)',
  origin: 'origin (the bench process)',
};

/** One kind's figures from one run. */
interface KindRun {
  readonly chainMiBps: number;
  readonly rawMiBps: number;
  readonly chainBytes: number;
  readonly rawBytes: number;
  readonly firstByteMs: number;
  readonly firstByteAttempts: number;
  readonly proxyProblems: readonly string[];
  /** Chain transfers that broke before this one went through (their first error lines). */
  readonly failures: readonly string[];
  /** CPU ms per MiB of each chain process, and of everything in the raw transfer. */
  readonly chainCpu: Readonly<Record<ChainProcess, number>>;
  readonly rawCpu: number;
  readonly otherCores: number;
}

interface Browser {
  readonly chromium: LaunchedChromium;
  readonly site: VolunteerSite;
}

async function rawRun(
  kind: VolunteerKind,
  total: number,
  browser: Browser,
): Promise<{ mibps: number; bytes: number; cpuMsPerMiB: number }> {
  // Both ends' CPU: this process (node-datachannel) and, for Chromium, all its processes.
  const meter = new CpuMeter({
    all: () => [process.pid, ...(kind === 'chromium' ? chromiumPids() : [])],
  });
  const timeoutMs = 300_000;
  let page: Page | undefined;
  try {
    const raw =
      kind === 'node'
        ? await rawNodeToNode(total, timeoutMs, meter)
        : await rawChromiumToNode(
            (page = await browser.chromium.context.newPage()),
            total,
            timeoutMs,
            meter,
          );
    return {
      mibps: raw.bytes / MiB / raw.seconds,
      bytes: raw.bytes,
      cpuMsPerMiB: meter.msPerMiB('all', raw.bytes),
    };
  } finally {
    await page?.close();
  }
}

async function kindRun(
  kind: VolunteerKind,
  total: number,
  origins: Origins,
  browser: Browser,
  rawFirst: boolean,
): Promise<KindRun> {
  // A transfer that breaks is a finding, not a reason to lose the run: it is reported (and
  // counted in RESULTS.md), and the transfer is made again with fresh processes.
  const failures: string[] = [];
  const chain = async (): Promise<ChainRun> => {
    for (;;) {
      try {
        return await chainTransfer({ origins, kind, site: browser.site }, total);
      } catch (err) {
        const message = (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
        failures.push(message);
        console.error(`chain ${kind}: transfer failed, repeating it: ${message}`);
        if (failures.length >= MAX_FAILURES) throw err;
      }
    }
  };
  const raw = rawFirst ? await rawRun(kind, total, browser) : undefined;
  const run = await chain();
  const rawResult = raw ?? (await rawRun(kind, total, browser));
  const perMiB = (seconds: number): number => (seconds * 1000) / (run.bytes / MiB);
  return {
    chainMiBps: run.bytes / MiB / run.seconds,
    rawMiBps: rawResult.mibps,
    chainBytes: run.bytes,
    rawBytes: rawResult.bytes,
    firstByteMs: run.firstByteMs,
    firstByteAttempts: run.firstByteAttempts,
    proxyProblems: run.proxyProblems,
    failures,
    chainCpu: {
      proxy: perMiB(run.cpuSeconds.proxy),
      volunteer: perMiB(run.cpuSeconds.volunteer),
      egress: perMiB(run.cpuSeconds.egress),
      origin: perMiB(run.cpuSeconds.origin),
    },
    rawCpu: rawResult.cpuMsPerMiB,
    otherCores: run.otherCores,
  };
}

function measurementsOf(
  runs: Readonly<Record<VolunteerKind, readonly KindRun[]>>,
  starts: Readonly<Record<VolunteerKind, FirstByteStarts>>,
  loads: readonly number[],
): Measurement[] {
  const of = (kind: VolunteerKind, pick: (r: KindRun) => number) => summarize(runs[kind].map(pick));
  /** One figure for each volunteer kind. */
  const perKind = (metric: string, unit: string, pick: (r: KindRun) => number): Measurement[] =>
    KINDS.map((kind) => ({ metric, subject: KIND_NAME[kind], unit, summary: of(kind, pick) }));
  /** The chain beside the raw data channel, for each volunteer kind. */
  const versusRaw = (
    what: string,
    unit: string,
    chain: (r: KindRun) => number,
    raw: (r: KindRun) => number,
  ): Measurement[] =>
    KINDS.flatMap((kind) => {
      const metric = `${what}, ${KIND_NAME[kind]}`;
      return [
        { metric, subject: 'chain', unit, summary: of(kind, chain) },
        { metric, subject: 'raw data channel', unit, summary: of(kind, raw) },
      ];
    });
  const chainCpuTotal = (r: KindRun): number =>
    CHAIN_PROCESSES.reduce((sum, p) => sum + r.chainCpu[p], 0);
  const out: Measurement[] = [
    ...versusRaw(
      'throughput',
      'MiB/s',
      (r) => r.chainMiBps,
      (r) => r.rawMiBps,
    ),
    ...perKind('bu proxy spawned → first byte of a response', 'ms', (r) => r.firstByteMs),
    ...KINDS.map((kind) => ({
      metric: `bu proxy spawned → first byte, ${starts[kind].ms.length} starts in a row`,
      subject: KIND_NAME[kind],
      unit: 'ms',
      summary: summarize(starts[kind].ms),
    })),
    ...versusRaw('CPU per MiB, all processes', 'ms', chainCpuTotal, (r) => r.rawCpu),
    ...CHAIN_PROCESSES.flatMap((process) =>
      perKind(`chain CPU per MiB, ${PROCESS_NAME[process]}`, 'ms', (r) => r.chainCpu[process]),
    ),
    ...versusRaw(
      'bytes delivered',
      'MiB',
      (r) => r.chainBytes / MiB,
      (r) => r.rawBytes / MiB,
    ),
    ...perKind(
      'CPU of other work on the machine during the chain download',
      'cores',
      (r) => r.otherCores,
    ),
  ];
  out.push({
    metric: '1-minute load average at the end of each run (this bench included)',
    subject: 'machine',
    unit: 'load',
    summary: summarize(loads),
  });
  return out;
}

function verdictsOf(
  runs: Readonly<Record<VolunteerKind, readonly KindRun[]>>,
  starts: Readonly<Record<VolunteerKind, FirstByteStarts>>,
): Verdict[] {
  const firstByte = KINDS.map((kind): Verdict => {
    const { median, max } = summarize(starts[kind].ms);
    return {
      target: `first byte < ${FIRST_BYTE_MAX_MS / 1000} s in every one of ${starts[kind].ms.length} bu proxy starts, ${KIND_NAME[kind]}`,
      measured: `max ${max.toFixed(0)} ms, median ${median.toFixed(0)} ms`,
      met: max < FIRST_BYTE_MAX_MS,
    };
  });
  const throughput = KINDS.map((kind): Verdict => {
    const chain = summarize(runs[kind].map((r) => r.chainMiBps)).median;
    const raw = summarize(runs[kind].map((r) => r.rawMiBps)).median;
    const ratio = chain / raw;
    return {
      target: `chain ≥ ${TARGET}× raw data channel, ${KIND_NAME[kind]}`,
      measured: `${ratio.toFixed(2)}× (${chain.toFixed(1)} vs ${raw.toFixed(1)} MiB/s)`,
      met: ratio >= TARGET,
    };
  });
  return [...throughput, ...firstByte];
}

async function userAgentVersion(chromium: LaunchedChromium): Promise<string> {
  const page = await chromium.context.newPage();
  try {
    const agent = await page.evaluate(() => navigator.userAgent);
    return /Chrome\/([\d.]+)/.exec(agent)?.[1] ?? 'unknown';
  } finally {
    await page.close();
  }
}

export async function main(args: BenchArgs): Promise<void> {
  if (!insideNetns()) {
    throw new Error('the chain bench needs scripts/netns-run: run it through bench/run.ts chain');
  }
  const total = (args.smoke ? 4 : 128) * MiB;
  const loadAtStart = loadavg().map((l) => l.toFixed(2));
  const origins = await startOrigins();
  const site = await startVolunteerSite();
  let chromium: LaunchedChromium | undefined;
  let browserVersion = 'unknown';
  const runs: Record<VolunteerKind, KindRun[]> = { node: [], chromium: [] };
  const empty: FirstByteStarts = { ms: [], attempts: [], problems: [] };
  const starts: Record<VolunteerKind, FirstByteStarts> = { node: empty, chromium: empty };
  const startCount = args.smoke ? SMOKE_FIRST_BYTE_STARTS : FIRST_BYTE_STARTS;
  const loads: number[] = [];
  try {
    chromium = await launchChromium();
    browserVersion = await userAgentVersion(chromium);
    const browser = { chromium, site };
    for (let run = 0; run < args.runs; run += 1) {
      // Alternate which kind goes first and whether raw or chain comes first within a kind.
      const order = run % 2 === 0 ? KINDS : [...KINDS].reverse();
      for (const kind of order) {
        const result = await kindRun(kind, total, origins, browser, run % 2 === 0);
        runs[kind].push(result);
        console.error(
          `chain run ${run + 1}/${args.runs} ${kind}: chain ${result.chainMiBps.toFixed(1)} MiB/s, raw ${result.rawMiBps.toFixed(1)} MiB/s (${(result.chainMiBps / result.rawMiBps).toFixed(2)}×), first byte ${result.firstByteMs.toFixed(0)} ms${result.proxyProblems.length > 0 ? ` (bu proxy: ${result.proxyProblems.join('; ')})` : ''}`,
        );
      }
      loads.push(loadavg()[0] ?? Number.NaN);
    }
    for (const kind of KINDS) {
      starts[kind] = await firstByteStarts({ origins, kind, site }, startCount);
      const { median, max } = summarize(starts[kind].ms);
      console.error(
        `chain first byte ${kind}: ${startCount} starts, median ${median.toFixed(0)} ms, max ${max.toFixed(0)} ms`,
      );
    }
  } finally {
    await chromium?.close();
    site.close();
    origins.close();
  }
  const failed = KINDS.flatMap((kind) =>
    runs[kind].flatMap((r, i) => r.failures.map((f) => `${kind}, run ${i + 1}: ${f}`)),
  );
  const slowStarts = KINDS.flatMap((kind) =>
    runs[kind].flatMap((r, i) =>
      r.proxyProblems.length === 0 ? [] : [`${kind}, run ${i + 1}: ${r.proxyProblems.join('; ')}`],
    ),
  );
  const attempts = KINDS.map(
    (kind) => `${kind}: ${runs[kind].map((r) => r.firstByteAttempts).join(', ')}`,
  ).join('; ');
  await writeResult(args.out, {
    bench: 'chain',
    title: `Chain: ${total / MiB} MiB through bu proxy → volunteer → egress vs a raw data channel`,
    smoke: args.smoke,
    date: new Date().toISOString(),
    machine: machine(),
    runs: args.runs,
    setup: [
      `chain: curl -x (the HTTP proxy) downloads ${total / MiB} MiB of random bytes from a local HTTP origin in the bench process, through bu proxy --volunteers 1 → one volunteer → bu serve's egress (/tunnel/: Noise NK, ChaCha20-Poly1305 frames ≤ 16 KiB) → origin; curl's own time_total, tunnel already up; the body is checked (size and SHA-256) after the clock stops`,
      "volunteers: bu volunteer (node-datachannel), or mesh's Volunteer in a page of headless Chromium (the e2e suite's volunteer page); a fresh bu serve, volunteer and bu proxy for every transfer; no STUN servers",
      `raw data channel: one ordered, reliable RTCDataChannel between the same two stacks (node-datachannel ⇄ node-datachannel in the bench process; Chromium → node-datachannel), offer and answer handed over directly; ${total / MiB} MiB in 16 KiB messages, paused above 1 MiB buffered and resumed at 512 KiB (bufferedAmountLowThreshold), as the volunteer's relay does; timed from the first send to the receiver holding the last byte. The sender is the volunteer's stack and the receiver bu proxy's, as for a download through the chain`,
      "first byte: bu proxy is spawned on the clock; as soon as it prints that it listens, curl polls through it (a request before its PeerJS peer is open gets 503 at once; later ones wait in the proxy for the first tunnel) until a 200; time = spawn → curl's time_starttransfer of that request. Requests it took per run: " +
        attempts,
      `problems bu proxy reported before its first tunnel was up: ${slowStarts.length === 0 ? 'none' : slowStarts.join(' · ')}`,
      `first byte, ${startCount} starts in a row: after the runs, one bu serve and one volunteer of each kind, and bu proxy --volunteers 1 spawned ${startCount} times one after the other (each stopped after its first 200), timed as above. Requests it took: ${KINDS.map((kind) => `${kind}: ${starts[kind].attempts.join(', ')}`).join('; ')}. Problems bu proxy reported before its first tunnel: ${KINDS.flatMap((kind) => starts[kind].problems.map((p) => `${kind}, ${p}`)).join(' · ') || 'none'}`,
      `chain transfers that broke and were made again with fresh processes: ${failed.length === 0 ? 'none' : failed.join(' · ')}`,
      "CPU: utime + stime from /proc over the download, per process (Chromium: all its processes); raw: the bench process (both ends for Node ⇄ Node) plus Chromium's processes; other work = the machine's busy CPU (/proc/stat) during the chain download minus all of this bench's processes (curl included), in cores",
      `order alternates each run (Node or Chromium first; raw or chain first); load average at start ${loadAtStart.join(' ')}, at the end of each run ${loads.map((l) => l.toFixed(2)).join(', ')}`,
      `Chromium ${browserVersion} (Debian's), headless, --disable-features=WebRtcHideLocalIpsWithMdns; inside scripts/netns-run (veth 10.77.0.1 ⇄ 10.77.0.2, no way out)`,
    ],
    measurements: measurementsOf(runs, starts, loads),
    verdicts: verdictsOf(runs, starts),
  });
}

runIfMain(import.meta.url, main);
