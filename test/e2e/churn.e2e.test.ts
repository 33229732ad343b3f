/**
 * Churn: the proxy keeps tunnels through two volunteers (processes); one is killed while
 * downloads run through it. Its downloads fail with an error (not a hang), and new requests
 * go through the other volunteer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  curl,
  slowDownload,
  startChain,
  startVolunteer,
  waitForVolunteers,
  type BuProcess,
  type Chain,
} from './chain-harness.ts';

let chain: Chain;

beforeAll(async () => {
  chain = await startChain({ volunteers: 2 });
});

afterAll(async () => {
  await chain.stop();
});

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
  const { proxy, origins } = chain;
  const downloads = Array.from({ length: 4 }, () => slowDownload(proxy, origins));
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
    const [victim, survivor] = chain.volunteers as [BuProcess, BuProcess];
    const result = await churn(victim, survivor, 'SIGTERM');
    measured['SIGTERM'] = result;
    expect(result.succeededAfter).toBeDefined();
    expect(result.succeededAfter).toBeLessThan(10);
  });

  it('a volunteer that dies (SIGKILL, no goodbye) mid-download: its downloads fail with an error, new requests succeed through the other within 10 s', async () => {
    // The proxy replaces the lost tunnel through a new volunteer.
    chain.volunteers.push(await startVolunteer(chain.serve.signaling));
    await waitForVolunteers(chain.proxy, 2);
    const [, survivor, fresh] = chain.volunteers as [BuProcess, BuProcess, BuProcess];
    const result = await churn(fresh, survivor, 'SIGKILL');
    measured['SIGKILL'] = result;
    // Without a goodbye, WebRTC itself would notice only after about 30 s (ICE consent);
    // the tunnel's liveness probes notice within seconds (docs/protocol.md §1.5).
    expect(result.succeededAfter).toBeDefined();
    expect(result.succeededAfter).toBeLessThan(10);
    expect(result.failedAfter).toBeLessThan(10);
  });
});
