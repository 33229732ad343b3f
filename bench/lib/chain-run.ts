/**
 * One measured trip through the whole chain: a fresh `bu serve` (signaling + egress), one
 * volunteer (`bu volunteer` or the volunteer page in Chromium), then `bu proxy` spawned on the
 * clock: curl polls through it until a response comes (time to first byte), then downloads
 * the body through it once (throughput), while the CPU of every process is read from /proc.
 * The origin and the `bu` processes come from the end-to-end suite's harness.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CURL,
  body,
  startProxy,
  startServe,
  startVolunteer,
  tempDir,
  type BuProcess,
  type Origins,
  type Proxy,
} from '../../test/e2e/chain-harness.ts';
import {
  launchVolunteerBrowser,
  type VolunteerBrowser,
  type VolunteerSite,
} from './chromium-volunteer.ts';
import { CpuMeter, descendants } from './process-tree.ts';

export type VolunteerKind = 'node' | 'chromium';

/** Process groups whose CPU the chain bench reports, in this order. */
export const CHAIN_PROCESSES = ['proxy', 'volunteer', 'egress', 'origin'] as const;
export type ChainProcess = (typeof CHAIN_PROCESSES)[number];

export interface ChainRun {
  /** Body bytes curl received; equal to the size asked for, or the run fails. */
  readonly bytes: number;
  /** Curl's time for the download (request to last byte), through a tunnel that is already up. */
  readonly seconds: number;
  /** From spawning `bu proxy` to the first byte of the first successful response. */
  readonly firstByteMs: number;
  /** How many requests it took (the ones before got 503: no volunteer yet). */
  readonly firstByteAttempts: number;
  /** Problems `bu proxy` reported before its first tunnel was up (why a first byte was late). */
  readonly proxyProblems: readonly string[];
  /** CPU seconds of each process group during the download. */
  readonly cpuSeconds: Readonly<Record<ChainProcess, number>>;
  /** Cores other work on the machine used during the download (see CpuMeter.otherCores). */
  readonly otherCores: number;
}

export interface ChainSetup {
  readonly origins: Origins;
  readonly kind: VolunteerKind;
  /** For the Chromium volunteer: the site that serves the volunteer page. */
  readonly site?: VolunteerSite;
}

interface CurlRun {
  readonly status: string;
  /** Body bytes received. */
  readonly size: number;
  /** Seconds from curl's start to its first response byte, and to its end. */
  readonly firstByte: number;
  readonly total: number;
  readonly stderr: string;
}

/** Real curl through the HTTP proxy; curl times itself (`-w`), so its own start-up is not counted. */
function curlVia(proxy: Proxy, url: string, output: string): Promise<CurlRun> {
  const format = '%{http_code} %{size_download} %{time_starttransfer} %{time_total}';
  return new Promise((resolve) => {
    const child = spawn(
      CURL,
      ['-sS', '--max-time', '300', '-o', output, '-w', format, '-x', proxy.http, url],
      { env: { PATH: '/usr/bin:/bin' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('exit', () => {
      const [status = '', size = 'NaN', firstByte = 'NaN', total = 'NaN'] = out.trim().split(' ');
      resolve({
        status,
        size: Number(size),
        firstByte: Number(firstByte),
        total: Number(total),
        stderr,
      });
    });
  });
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Polls with curl until the proxy answers 200. A request made before the proxy's PeerJS peer
 * is open gets 503 at once; one made after waits inside the proxy for the first tunnel, so
 * the polling adds little. The first byte is timed by curl itself (from its start), on top of
 * when this process spawned that curl.
 */
async function firstByte(
  proxy: Proxy,
  url: string,
  spawnedAt: number,
): Promise<{ ms: number; attempts: number }> {
  const deadline = performance.now() + 60_000;
  for (let attempts = 1; ; attempts += 1) {
    const startedAt = performance.now();
    const attempt = await curlVia(proxy, url, '/dev/null');
    if (attempt.status === '200') {
      return { ms: startedAt + attempt.firstByte * 1000 - spawnedAt, attempts };
    }
    if (performance.now() > deadline) {
      throw new Error(
        `no 200 through bu proxy in 60 s (last: ${attempt.status}):\n${proxy.process.lines.slice(-10).join('\n')}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

type Volunteer = { readonly bu: BuProcess } | { readonly browser: VolunteerBrowser };

async function startVolunteerOf(setup: ChainSetup, signaling: string): Promise<Volunteer> {
  if (setup.kind === 'node') return { bu: await startVolunteer(signaling) };
  if (setup.site === undefined) throw new Error('the Chromium volunteer needs its site');
  return { browser: await launchVolunteerBrowser(setup.site, signaling) };
}

/** The volunteer's processes: `bu volunteer`, or Chromium's browser process and its helpers. */
function volunteerPids(volunteer: Volunteer): number[] {
  if ('bu' in volunteer)
    return volunteer.bu.child.pid === undefined ? [] : [volunteer.bu.child.pid];
  return [volunteer.browser.pid, ...descendants(volunteer.browser.pid, /./)];
}

async function stopVolunteer(volunteer: Volunteer): Promise<void> {
  if ('bu' in volunteer) await volunteer.bu.stop();
  else await volunteer.browser.close();
}

/** Time to first byte over many `bu proxy` starts against one server and one volunteer. */
export interface FirstByteStarts {
  /** Spawn → first byte of each start, in start order. */
  readonly ms: readonly number[];
  /** Requests each start took (see firstByte). */
  readonly attempts: readonly number[];
  /** Problems `bu proxy` reported before its first tunnel, with the start they happened in. */
  readonly problems: readonly string[];
}

/** The consumers a volunteer serves now, as it last reported them. */
function volunteerConsumers(setup: ChainSetup, volunteer: Volunteer): number | undefined {
  if ('bu' in volunteer) {
    const consumers = volunteer.bu.lastStatus()?.['consumers'];
    return typeof consumers === 'number' ? consumers : undefined;
  }
  return setup.site?.status()?.consumers;
}

/**
 * `bu proxy --volunteers 1` spawned `starts` times, one after the other, each stopped once its
 * first response came: the first tunnel is what a user waits for, and a rare stall in it only
 * shows over many starts. One `bu serve` and one volunteer serve them all. Before each start
 * the volunteer must have let the previous consumer go: `bu proxy` exits without waiting for
 * its peer connections to close, and Chromium notices a peer that vanished only when ICE
 * consent runs out (about 15 s), so back-to-back starts would measure a volunteer with no free
 * slot instead of the proxy.
 */
export async function firstByteStarts(setup: ChainSetup, starts: number): Promise<FirstByteStarts> {
  const { origins } = setup;
  const serve = await startServe([`127.0.0.1:${origins.httpPort}`]);
  let volunteer: Volunteer | undefined;
  const ms: number[] = [];
  const attempts: number[] = [];
  const problems: string[] = [];
  try {
    volunteer = await startVolunteerOf(setup, serve.signaling);
    for (let start = 1; start <= starts; start += 1) {
      const idleBy = Date.now() + 60_000;
      while (volunteerConsumers(setup, volunteer) !== 0 && Date.now() < idleBy) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const spawnedAt = performance.now();
      const proxy = await startProxy(serve.signaling, ['--volunteers', '1']);
      try {
        const first = await firstByte(
          proxy,
          `http://127.0.0.1:${origins.httpPort}/marker/first-byte`,
          spawnedAt,
        );
        ms.push(first.ms);
        attempts.push(first.attempts);
        const seen = new Set(
          proxy.process
            .json()
            .map((entry) => entry['problem'])
            .filter((problem): problem is string => typeof problem === 'string'),
        );
        for (const problem of seen) problems.push(`start ${start}: ${problem}`);
      } finally {
        await proxy.process.stop();
      }
    }
    return { ms, attempts, problems };
  } finally {
    if (volunteer !== undefined) await stopVolunteer(volunteer);
    await serve.process.stop();
    await rm(serve.dataDir, { recursive: true, force: true });
  }
}

export async function chainTransfer(setup: ChainSetup, total: number): Promise<ChainRun> {
  const { origins } = setup;
  const serve = await startServe([`127.0.0.1:${origins.httpPort}`]);
  let volunteer: Volunteer | undefined;
  let proxy: Proxy | undefined;
  try {
    volunteer = await startVolunteerOf(setup, serve.signaling);
    const spawnedAt = performance.now();
    proxy = await startProxy(serve.signaling, ['--volunteers', '1']);
    const first = await firstByte(
      proxy,
      `http://127.0.0.1:${origins.httpPort}/marker/first-byte`,
      spawnedAt,
    );
    const running = volunteer;
    const proxyPid = proxy.process.child.pid;
    const servePid = serve.process.child.pid;
    const meter = new CpuMeter({
      proxy: () => (proxyPid === undefined ? [] : [proxyPid]),
      volunteer: () => volunteerPids(running),
      egress: () => (servePid === undefined ? [] : [servePid]),
      origin: () => [process.pid],
    });
    // The body is made (and hashed) before the clock starts, the download checked after it.
    const expected = body(total);
    const dir = await tempDir('bu-bench-chain-');
    let result: CurlRun;
    let intact: boolean;
    try {
      const output = join(dir, 'body');
      meter.start();
      result = await curlVia(proxy, `http://127.0.0.1:${origins.httpPort}/bytes/${total}`, output);
      meter.stop();
      // No file at all (curl failed before the body) is a broken transfer like any other.
      const sha256 = await sha256File(output).catch(() => '');
      intact = result.size === total && sha256 === expected.sha256;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    if (result.status !== '200' || !intact) {
      const pageErrors = 'browser' in volunteer ? volunteer.browser.errors() : [];
      throw new Error(
        `chain transfer failed: HTTP ${result.status}, ${result.size} of ${total} bytes${intact ? '' : ' (not the body sent)'} ${result.stderr}\n${proxy.process.lines.slice(-10).join('\n')}\n${pageErrors.join('\n')}`,
      );
    }
    return {
      bytes: result.size,
      seconds: result.total,
      firstByteMs: first.ms,
      firstByteAttempts: first.attempts,
      proxyProblems: [
        ...new Set(
          proxy.process
            .json()
            .map((entry) => entry['problem'])
            .filter((problem): problem is string => typeof problem === 'string'),
        ),
      ],
      cpuSeconds: {
        proxy: meter.seconds.get('proxy') ?? Number.NaN,
        volunteer: meter.seconds.get('volunteer') ?? Number.NaN,
        egress: meter.seconds.get('egress') ?? Number.NaN,
        origin: meter.seconds.get('origin') ?? Number.NaN,
      },
      otherCores: meter.otherCores(),
    };
  } finally {
    await proxy?.process.stop();
    if (volunteer !== undefined) await stopVolunteer(volunteer);
    await serve.process.stop();
    await rm(serve.dataDir, { recursive: true, force: true });
  }
}
