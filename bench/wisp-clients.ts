/**
 * Ecosystem clients: how long a WASM Wisp client that web proxies use takes to download
 * 16 MiB over plain HTTP in headless Chromium, through our egress's /wisp/ and through the
 * reference Wisp server (@mercuryworkshop/wisp-js 0.5.0), side by side in one run:
 * epoxy-tls 2.1.19-1 in Wisp v1 and v2 modes, and libcurl.js 0.7.4 (Wisp v1 only).
 *
 * The page, the clients, the origin and the case are the interop test's
 * (test/e2e/wisp-interop/); each server is its own process, as in the egress bench.
 *
 *   node --import ./bench/register-ts.mjs bench/wisp-clients.ts [--smoke] [--runs N]
 */
import { launchChromium, type LaunchedChromium } from '../test/e2e/chromium.ts';
import { DOWNLOAD_BYTES, type CaseSettings } from '../test/e2e/wisp-interop/cases.ts';
import { startHttpOrigin, type InteropOrigin } from '../test/e2e/wisp-interop/origin.ts';
import { startInteropSite, type InteropSite } from '../test/e2e/wisp-interop/site.ts';
import { runIfMain, type BenchArgs } from './lib/args.ts';
import { startOurEgress, startWispJs, type OurEgress } from './lib/egress-servers.ts';
import { cpuSeconds, MiB, type Child } from './lib/proc.ts';
import { machine, medianOf, writeResult, type Measurement, type Verdict } from './lib/result.ts';
import { summarize } from './lib/stats.ts';
import { downloadInPage } from './lib/wisp-client-download.ts';

type Subject = 'ours /wisp/' | 'wisp-js';
const SUBJECTS: readonly Subject[] = ['ours /wisp/', 'wisp-js'];

interface Mode {
  readonly client: CaseSettings['client'];
  readonly v2: boolean;
  readonly label: string;
  /** Judged against a target (epoxy); libcurl.js is measured for information. */
  readonly judged: boolean;
}

const MODES: readonly Mode[] = [
  { client: 'epoxy', v2: false, label: 'epoxy, Wisp v1', judged: true },
  { client: 'epoxy', v2: true, label: 'epoxy, Wisp v2', judged: true },
  { client: 'libcurl', v2: false, label: 'libcurl.js, Wisp v1', judged: false },
];

/** Ours may take at most this times the reference's median time. */
const TARGET = 1.0;
/** How long the page gives one download before reporting a timeout. */
const CASE_TIMEOUT_MS = 60_000;

interface DownloadRun {
  readonly ms: number;
  readonly serverCpuMs: number;
}

interface Servers {
  readonly origin: InteropOrigin;
  readonly site: InteropSite;
  readonly chromium: LaunchedChromium;
  readonly ours: OurEgress;
  readonly reference: { child: Child; url: string };
  /** Anything Chromium asked for off 127.0.0.1 (must stay empty). */
  readonly offMachine: string[];
}

async function download(servers: Servers, subject: Subject, mode: Mode): Promise<DownloadRun> {
  const [wispUrl, pid] =
    subject === 'ours /wisp/'
      ? [servers.ours.wisp, servers.ours.child.pid]
      : [servers.reference.url, servers.reference.child.pid];
  const settings: CaseSettings = {
    client: mode.client,
    wispUrl,
    v2: mode.v2,
    caPem: '',
    httpOrigin: servers.origin.url,
    // Neither is used by the download case.
    httpsOrigin: servers.origin.url,
    forbiddenOrigin: servers.origin.url,
    timeoutMs: CASE_TIMEOUT_MS,
  };
  let serverCpuMs = 0;
  const { ms } = await downloadInPage(
    servers.chromium.context,
    servers.site.url,
    settings,
    async (work) => {
      const cpu0 = cpuSeconds(pid);
      const result = await work();
      serverCpuMs = (cpuSeconds(pid) - cpu0) * 1000;
      return result;
    },
  );
  return { ms, serverCpuMs };
}

async function startServers(): Promise<Servers> {
  const origin = await startHttpOrigin();
  const site = await startInteropSite();
  const ours = await startOurEgress(origin.port);
  const reference = await startWispJs();
  const chromium = await launchChromium();
  const offMachine: string[] = [];
  chromium.context.on('request', (request) => {
    if (new URL(request.url()).hostname !== '127.0.0.1') offMachine.push(request.url());
  });
  chromium.context.on('page', (page) =>
    page.on('websocket', (ws) => {
      if (new URL(ws.url()).hostname !== '127.0.0.1') offMachine.push(ws.url());
    }),
  );
  return { origin, site, chromium, ours, reference, offMachine };
}

async function stopServers(servers: Servers): Promise<void> {
  await servers.chromium.close();
  await servers.site.close();
  await servers.ours.stop();
  await servers.reference.child.stop();
  await servers.origin.close();
}

export async function main(args: BenchArgs): Promise<void> {
  // The case's size is fixed (16 MiB, test/e2e/wisp-interop/cases.ts); a smoke run is one
  // run of epoxy's two modes with no warm-up.
  const modes = args.smoke ? MODES.filter((m) => m.judged) : MODES;
  const servers = await startServers();
  const runs = new Map<string, DownloadRun[]>();
  try {
    if (!args.smoke) {
      // One unrecorded download per server and mode: both servers' JITs warm, as a
      // long-running server's would be.
      for (const mode of modes) {
        for (const subject of SUBJECTS) await download(servers, subject, mode);
      }
    }
    for (let run = 0; run < args.runs; run += 1) {
      const order = run % 2 === 0 ? SUBJECTS : [...SUBJECTS].reverse();
      for (const mode of modes) {
        for (const subject of order) {
          const result = await download(servers, subject, mode);
          const key = `${subject}|${mode.label}`;
          runs.set(key, [...(runs.get(key) ?? []), result]);
          console.error(
            `wisp-clients run ${run + 1}/${args.runs} ${mode.label} ${subject}: ${result.ms} ms, server CPU ${result.serverCpuMs.toFixed(0)} ms`,
          );
        }
      }
    }
  } finally {
    await stopServers(servers);
  }
  if (servers.offMachine.length > 0) {
    throw new Error(`Chromium asked for addresses off 127.0.0.1: ${servers.offMachine.join(' ')}`);
  }
  const size = `${DOWNLOAD_BYTES / MiB} MiB`;
  const measurements: Measurement[] = [];
  const metrics: readonly [keyof DownloadRun, string][] = [
    ['ms', `${size} download time`],
    ['serverCpuMs', `server CPU per ${size} download`],
  ];
  for (const mode of modes) {
    for (const [key, metric] of metrics) {
      for (const subject of SUBJECTS) {
        measurements.push({
          metric: `${metric}, ${mode.label}`,
          subject,
          unit: 'ms',
          summary: summarize((runs.get(`${subject}|${mode.label}`) ?? []).map((r) => r[key])),
        });
      }
    }
  }
  const verdicts: Verdict[] = modes
    .filter((mode) => mode.judged)
    .map((mode) => {
      const metric = `${size} download time, ${mode.label}`;
      const ours = medianOf({ measurements }, metric, 'ours /wisp/');
      const reference = medianOf({ measurements }, metric, 'wisp-js');
      return {
        target: `epoxy's ${size} download through /wisp/ no slower than through wisp-js (Wisp ${mode.v2 ? 'v2' : 'v1'})`,
        measured: `${(ours / reference).toFixed(2)}× wisp-js's time (${ours.toFixed(0)} vs ${reference.toFixed(0)} ms)`,
        met: ours <= reference * TARGET,
      };
    });
  await writeResult(args.out, {
    bench: 'wisp-clients',
    title: `Ecosystem Wisp clients in Chromium: ${size} download through /wisp/ vs wisp-js server`,
    smoke: args.smoke,
    date: new Date().toISOString(),
    machine: machine(),
    runs: args.runs,
    setup: [
      `one ${size} GET over plain HTTP from a local origin (test/e2e/wisp-interop/origin.ts, in the bench process) through a WASM Wisp client in headless Chromium (test/e2e/chromium.ts flags), on the interop test's page (test/e2e/wisp-interop/page.ts)`,
      `clients: epoxy-tls 2.1.19-1 with wisp_v2 off (Wisp v1) and on (Wisp v2); libcurl.js 0.7.4 (Wisp v1 only; measured, not judged)${args.smoke ? '; a smoke run measures epoxy only' : ''}`,
      "time: the page's own clock (performance.now) around the download case, in a fresh page whose client WASM a warm-up GET through the same server has already loaded: a new client opening its Wisp WebSocket, the GET, the whole body, and its SHA-256 (checked against the origin's, as is the Wisp version spoken); Chromium's start-up and WASM compile are outside it",
      'ours: node dist/cli/bu.js egress --no-admission --allow 127.0.0.1:ORIGIN --max-connections-per-ip 100000 --log-level warn, its /wisp/; wisp-js: its server.routeRequest on a node:http server, allow_loopback_ips (bench/servers/wisp-js-server.mjs); each its own process, started once and kept for the whole bench; server CPU: utime + stime from /proc over the download',
      `one download at a time; within each run the two servers alternate for each mode (ours first on odd runs, wisp-js first on even ones), so drift affects both alike${args.smoke ? '' : '; one unrecorded download per server and mode before the first run warms both'}`,
      `verdict: met when ours' median time ≤ wisp-js's median time × ${TARGET.toFixed(1)} (medians over ${args.runs} run(s)); measured is ours' median over wisp-js's`,
    ],
    measurements,
    verdicts,
  });
}

runIfMain(import.meta.url, main);
