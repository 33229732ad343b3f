/**
 * Several egresses: `bu signaling` lists two `bu egress` processes in an `--egress-file`, two
 * `bu volunteer`s relay, and `bu proxy` spreads its tunnels over both egresses. One egress is
 * killed (SIGKILL) during downloads: those downloads fail with an error, not a hang, and new
 * requests succeed through the other egress within 10 s. Then a third egress is added to the
 * file and signaling is sent SIGHUP: the proxy moves a tunnel to it without being restarted,
 * the volunteers learn it, and once the second egress is killed too, requests go through the
 * third (its own metrics count them).
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BuProcess,
  curl,
  slowDownload as startSlowDownload,
  startOrigins,
  startProxy,
  startVolunteer,
  admissionFlags,
  tempDir,
  waitForVolunteers,
  type Origins,
  type Proxy,
  type SlowDownload,
} from './chain-harness.ts';

interface Egress {
  readonly id: string;
  readonly process: BuProcess;
  /** The line for the egress list: `ID=URL#PUBLICKEY`. */
  readonly spec: string;
  readonly metrics: string;
}

let origins: Origins;
let dir: string;
let admission: Awaited<ReturnType<typeof admissionFlags>>;
let listFile: string;
const egresses = new Map<string, Egress>();
let signaling: BuProcess;
let proxy: Proxy;
const volunteers: BuProcess[] = [];
const downloads: SlowDownload[] = [];

async function startEgress(id: string): Promise<Egress> {
  const process = new BuProcess([
    'egress',
    ...admission.egress,
    '--port',
    '0',
    '--key',
    join(dir, `${id}-key.json`),
    '--allow',
    `127.0.0.1:${origins.httpPort}`,
    '--log-level',
    'warn',
  ]);
  const listening = await process.waitFor((e) => e['event'] === 'listening', `egress ${id}`);
  const url = String(listening['url']);
  const egress = {
    id,
    process,
    spec: `${id}=${url.replace(/^http/, 'ws')}#${String(listening['publicKey'])}`,
    metrics: String(listening['metrics']),
  };
  egresses.set(id, egress);
  return egress;
}

async function writeList(ids: readonly string[]): Promise<void> {
  const lines = ids.map((id) => egresses.get(id)?.spec ?? '');
  await writeFile(listFile, `# egresses for the failover test\n${lines.join('\n')}\n`);
}

/** Streams the egress opened, from its Prometheus text. */
async function streamsThrough(id: string): Promise<number> {
  const egress = egresses.get(id);
  if (egress === undefined) throw new Error(`no egress ${id}`);
  const text = await (await fetch(egress.metrics)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('bu_egress_streams_total{')) total += Number(line.split(' ').at(-1));
  }
  return total;
}

function proxyEgresses(): string[] {
  const egress = proxy.process.lastStatus()?.['egress'];
  return typeof egress === 'string' ? egress.split(',').sort() : [];
}

async function until(check: () => boolean, what: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${what}:\n${proxy.process.lines.slice(-8).join('\n')}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A download that runs for a minute (the origin's /slow), to be broken. */
function slowDownload(): Promise<{ code: number; stderr: string }> {
  const download = startSlowDownload(proxy, origins);
  downloads.push(download);
  return download.done;
}

/** Seconds from `since` until a new request through the proxy succeeds (at most 60 tries). */
async function recovers(since: number): Promise<number | undefined> {
  for (let attempt = 0; attempt < 60; attempt++) {
    const result = await curl('http', proxy, `http://127.0.0.1:${origins.httpPort}/bytes/100000`, [
      '--max-time',
      '5',
    ]);
    if (result.code === 0 && result.status === '200' && result.size === 100_000) {
      return (Date.now() - since) / 1000;
    }
  }
  return undefined;
}

beforeAll(async () => {
  origins = await startOrigins();
  dir = await tempDir('bu-egress-failover-');
  admission = await admissionFlags(dir);
  listFile = join(dir, 'egresses');
  await Promise.all(['a', 'b', 'c'].map(startEgress));
  await writeList(['a', 'b']);
  // Everything runs on one machine: same-address matching on, and NAT types left out of it
  // (the NAT lab tests those); this test is about egresses.
  signaling = new BuProcess([
    'signaling',
    ...admission.signaling,
    '--host',
    '10.77.0.1',
    '--port',
    '0',
    '--no-geoip',
    '--allow-same-ip',
    '--ignore-nat',
    '--egress-file',
    listFile,
    '--log-level',
    'info',
  ]);
  const up = await signaling.waitFor((e) => e['event'] === 'listening', 'bu signaling');
  const url = String(up['url']);
  volunteers.push(await startVolunteer(url), await startVolunteer(url));
  // The egress list is read again every second here (60 s by default).
  proxy = await startProxy(url, ['--volunteers', '2', '--config-refresh', '1000']);
  await waitForVolunteers(proxy, 2);
});

afterAll(async () => {
  for (const download of downloads) download.kill();
  await Promise.all([proxy.process.stop(), ...volunteers.map((v) => v.stop())]);
  await signaling.stop();
  await Promise.all([...egresses.values()].map((e) => e.process.stop()));
  origins.close();
  await rm(dir, { recursive: true, force: true });
});

const measured: Record<string, number | undefined> = {};

describe('several egresses', () => {
  afterAll(() => console.log(JSON.stringify({ egressFailover: measured })));

  it('spreads the tunnels over both listed egresses', async () => {
    await until(() => proxyEgresses().join() === 'a,b', 'tunnels to both egresses', 30_000);
  });

  it('an egress killed mid-download: its downloads fail with an error, new requests succeed through the other within 10 s', async () => {
    const running = Array.from({ length: 4 }, () => slowDownload());
    // Let the downloads spread over both tunnels and get going.
    await until(() => Number(proxy.process.lastStatus()?.['streams']) >= 4, 'four streams', 20_000);
    const killedAt = Date.now();
    await egresses.get('a')?.process.stop('SIGKILL');
    const first = await Promise.race(running);
    expect(first.code).not.toBe(0);
    expect(first.code).not.toBe(28);
    expect(first.stderr).toMatch(/curl: \((18|52|56)\)/);
    const recovered = await recovers(killedAt);
    measured['recoveredAfterKill'] = recovered;
    expect(recovered).toBeDefined();
    expect(recovered).toBeLessThan(10);
    // The lost tunnel is replaced through the egress that is left.
    await until(
      () => proxyEgresses().join() === 'b' && proxy.process.lastStatus()?.['volunteers'] === 2,
      'two tunnels through b',
      30_000,
    );
  });

  it('an egress added to the list (SIGHUP) is used without a restart of anything', async () => {
    await writeList(['a', 'b', 'c']);
    const addedAt = Date.now();
    signaling.child.kill('SIGHUP');
    await signaling.waitFor((e) => e['event'] === 'egress list changed', 'the new list', 10_000);
    // One of the two tunnels through b moves to c: neither the proxy nor a volunteer restarts.
    await until(() => proxyEgresses().join() === 'b,c', 'a tunnel through c', 30_000);
    measured['usedAfterAdd'] = (Date.now() - addedAt) / 1000;
    const before = await streamsThrough('c');
    const killedAt = Date.now();
    await egresses.get('b')?.process.stop('SIGKILL');
    const recovered = await recovers(killedAt);
    measured['recoveredAfterSecondKill'] = recovered;
    expect(recovered).toBeDefined();
    expect(recovered).toBeLessThan(10);
    expect(await streamsThrough('c')).toBeGreaterThan(before);
    for (const volunteer of volunteers) expect(volunteer.child.exitCode).toBeNull();
    expect(proxy.process.child.exitCode).toBeNull();
  });
});
