/**
 * Churn: the proxy keeps tunnels through two volunteers (processes); one is killed while
 * downloads run through it. Its downloads fail with an error (not a hang), and new requests
 * go through the other volunteer.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CURL,
  curl,
  startOrigins,
  startProxy,
  startServe,
  startVolunteer,
  waitForVolunteers,
  type BuProcess,
  type Origins,
  type Proxy,
  type Serve,
} from './chain-harness.ts';

let origins: Origins;
let serve: Serve;
let proxy: Proxy;
const volunteers: BuProcess[] = [];

beforeAll(async () => {
  origins = await startOrigins();
  serve = await startServe([`127.0.0.1:${origins.httpPort}`]);
  volunteers.push(await startVolunteer(serve.signaling), await startVolunteer(serve.signaling));
  proxy = await startProxy(serve.signaling, ['--volunteers', '2']);
  await waitForVolunteers(proxy, 2);
});

afterAll(async () => {
  await Promise.all([proxy.process.stop(), ...volunteers.map((v) => v.stop())]);
  await serve.process.stop();
  origins.close();
});

interface Download {
  readonly done: Promise<{ code: number; stderr: string; at: number }>;
  kill(): void;
}

/** A long download (the origin's /slow runs for a minute) through the HTTP proxy. */
function slowDownload(): Download {
  const child = spawn(
    CURL,
    [
      '-sS',
      '--max-time',
      '110',
      '-o',
      '/dev/null',
      '-x',
      proxy.http,
      `http://127.0.0.1:${origins.httpPort}/slow`,
    ],
    { env: { PATH: '/usr/bin:/bin' }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return {
    done: new Promise((resolve) =>
      child.once('exit', (code) => resolve({ code: code ?? -1, stderr, at: Date.now() })),
    ),
    kill: () => child.kill('SIGKILL'),
  };
}

/** Relaying real data for the proxy (more than tunnel handshakes). */
function relaying(volunteer: BuProcess): boolean {
  const status = volunteer.lastStatus();
  return (
    typeof status?.['consumers'] === 'number' &&
    status['consumers'] > 0 &&
    Number(status['down']) > 200_000
  );
}

interface ChurnResult {
  /** Seconds from the kill to the first failed download. */
  readonly failedAfter: number;
  /** Seconds from the kill to the first new request that succeeded. */
  readonly succeededAfter: number | undefined;
}

/**
 * Four long downloads spread over both volunteers, then `victim` is killed with `signal`.
 * Its downloads must end with an error (curl exit code not 0, and not 28: curl's own time
 * limit, which would mean a hang); then new requests are tried until one succeeds.
 */
async function churn(
  victim: BuProcess,
  survivor: BuProcess,
  signal: NodeJS.Signals,
): Promise<ChurnResult> {
  const downloads = Array.from({ length: 4 }, () => slowDownload());
  try {
    for (let i = 0; i < 240 && !(relaying(victim) && relaying(survivor)); i++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(relaying(victim) && relaying(survivor)).toBe(true);
    const killedAt = Date.now();
    await victim.stop(signal);
    const first = await Promise.race(downloads.map((d) => d.done));
    expect(first.stderr).toMatch(/curl: \((18|52|56)\)/);
    expect(first.code).not.toBe(0);
    expect(first.code).not.toBe(28);
    const failedAfter = (first.at - killedAt) / 1000;
    let succeededAfter: number | undefined;
    for (let attempt = 0; attempt < 60 && succeededAfter === undefined; attempt++) {
      const result = await curl(
        'http',
        proxy,
        `http://127.0.0.1:${origins.httpPort}/bytes/100000`,
        ['--max-time', '5'],
      );
      if (result.code === 0 && result.status === '200' && result.size === 100000) {
        succeededAfter = (Date.now() - killedAt) / 1000;
      }
    }
    expect(survivor.child.exitCode).toBeNull();
    return { failedAfter, succeededAfter };
  } finally {
    for (const download of downloads) download.kill();
  }
}

const measured: Record<string, ChurnResult> = {};

describe('churn', () => {
  afterAll(() => console.log(JSON.stringify({ churn: measured })));

  it('a volunteer that quits (SIGTERM) mid-download: its downloads fail with an error, new requests succeed through the other within 10 s', async () => {
    const [victim, survivor] = volunteers as [BuProcess, BuProcess];
    const result = await churn(victim, survivor, 'SIGTERM');
    measured['SIGTERM'] = result;
    expect(result.succeededAfter).toBeDefined();
    expect(result.succeededAfter).toBeLessThan(10);
  });

  it('a volunteer that dies (SIGKILL, no goodbye) mid-download: its downloads fail with an error, new requests succeed through the other within 10 s', async () => {
    // The proxy replaces the lost tunnel through a new volunteer.
    volunteers.push(await startVolunteer(serve.signaling));
    await waitForVolunteers(proxy, 2);
    const [, survivor, fresh] = volunteers as [BuProcess, BuProcess, BuProcess];
    const result = await churn(fresh, survivor, 'SIGKILL');
    measured['SIGKILL'] = result;
    // Without a goodbye, WebRTC itself would notice only after about 30 s (ICE consent);
    // the tunnel's liveness probes notice within seconds (docs/protocol.md §1.5).
    expect(result.succeededAfter).toBeDefined();
    expect(result.succeededAfter).toBeLessThan(10);
    expect(result.failedAfter).toBeLessThan(10);
  });
});
