/**
 * NAT discovery and matching against real NAT (test/e2e/nat-lab.ts): `bu volunteer` and
 * `bu proxy` behind a 1:1 NAT and behind symmetric NATs, `bu signaling` with its NAT probe,
 * `bu egress`, and Debian's coturn as the STUN server of every peer and, for one signaling
 * server, as a TURN relay. No NAT override flag anywhere.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admissionFlags, BuProcess, tempDir } from './chain-harness.ts';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './chromium.ts';
import { LAB_HOST, startLab, type Lab, type LabHost } from './nat-lab.ts';

const TURN_PORT = 3478;
const TURN_USER = 'lab';
const TURN_SECRET = 'lab-secret';
const PAGE = 'through the NAT lab';

let lab: Lab;
let turn: ChildProcess;
let origin: Server;
let originUrl: string;
let egress: BuProcess;
let plain: BuProcess;
let relayed: BuProcess;
let plainUrl: string;
let relayedUrl: string;
let spec: string;
let admission: Awaited<ReturnType<typeof admissionFlags>>;
const running: BuProcess[] = [];

function listeningUrl(process: BuProcess, what: string): Promise<string> {
  return process
    .waitFor((e) => e['event'] === 'listening' || typeof e['url'] === 'string', what)
    .then((e) => String(e['url']));
}

function startSignaling(extra: string[], egressSpec: string): BuProcess {
  const signaling = new BuProcess([
    'signaling',
    ...admission.signaling,
    '--host',
    LAB_HOST,
    '--port',
    '0',
    '--no-geoip',
    '--nat-probe-port',
    '0',
    '--egress',
    egressSpec,
    '--ice-server',
    `stun:${LAB_HOST}:${TURN_PORT}`,
    '--log-level',
    'info',
    ...extra,
  ]);
  return signaling;
}

function volunteer(host: LabHost | undefined, signaling: string): BuProcess {
  const process = new BuProcess(
    ['volunteer', '--signaling', signaling],
    {},
    host === undefined ? [] : host.wrap,
  );
  running.push(process);
  return process;
}

async function proxy(
  host: LabHost,
  signaling: string,
): Promise<{ process: BuProcess; http: string }> {
  const process = new BuProcess(
    ['proxy', '--signaling', signaling, '--http', '127.0.0.1:0', '--socks', '127.0.0.1:0'],
    {},
    host.wrap,
  );
  running.push(process);
  const listening = await process.waitFor((e) => e['event'] === 'listening', 'bu proxy to listen');
  return { process, http: String(listening['http']) };
}

function natOf(process: BuProcess, what: string): Promise<unknown> {
  return process
    .waitFor((e) => e['event'] === 'nat', `${what} to report its NAT`, 30_000)
    .then((e) => e['nat']);
}

async function volunteersOf(process: BuProcess, count: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const status = process.lastStatus();
    if (typeof status?.['volunteers'] === 'number' && status['volunteers'] >= count) return true;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}

/** curl, run in `host`'s namespace, through the proxy there. */
function curlIn(
  host: LabHost,
  proxyUrl: string,
  url: string,
): Promise<{ code: number; out: string }> {
  const [command = 'nsenter', ...rest] = [
    ...host.wrap,
    '/usr/bin/curl',
    '-sS',
    '--max-time',
    '30',
    '-x',
    proxyUrl,
    url,
  ];
  return new Promise((resolve) => {
    const child = spawn(command, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, out }));
  });
}

async function stopAll(): Promise<void> {
  await Promise.all(running.splice(0).map((p) => p.stop()));
}

async function metric(signalingUrl: string, name: string): Promise<number> {
  const text = await (await fetch(new URL('metrics', signalingUrl))).text();
  const line = text.split('\n').find((l) => l.startsWith(name));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

beforeAll(async () => {
  lab = startLab({ open: 'one-to-one', sym1: 'symmetric', sym2: 'symmetric' });
  turn = spawn(
    'turnserver',
    [
      '-n',
      `--listening-ip=${LAB_HOST}`,
      `--relay-ip=${LAB_HOST}`,
      `--listening-port=${TURN_PORT}`,
      '--min-port=49160',
      '--max-port=49400',
      '--lt-cred-mech',
      `--user=${TURN_USER}:${TURN_SECRET}`,
      '--realm=lab.test',
      '--no-tls',
      '--no-dtls',
      '--no-cli',
      '--log-file=stdout',
      '--simple-log',
    ],
    { stdio: 'ignore' },
  );
  origin = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' }).end(PAGE);
  });
  await new Promise<void>((resolve) => origin.listen(0, LAB_HOST, resolve));
  const originPort = (origin.address() as AddressInfo).port;
  originUrl = `http://${LAB_HOST}:${originPort}/`;
  const keyDir = await tempDir('bu-lab-egress-');
  admission = await admissionFlags(keyDir);
  egress = new BuProcess([
    'egress',
    ...admission.egress,
    '--host',
    LAB_HOST,
    '--port',
    '0',
    '--key',
    `${keyDir}/key.json`,
    '--allow',
    `${LAB_HOST}:${originPort}`,
  ]);
  const listening = await egress.waitFor((e) => e['event'] === 'listening', 'the egress');
  const egressUrl = String(listening['url']).replace(/^http/, 'ws');
  spec = `lab=${egressUrl}#${String(listening['publicKey'])}`;
  // Matches wait 3 s for a volunteer (not 30), so that a refused pair shows as a denial soon.
  plain = startSignaling(['--match-timeout', '3000'], spec);
  relayed = startSignaling(
    ['--ice-server', `turn:${LAB_HOST}:${TURN_PORT}?transport=udp,${TURN_USER},${TURN_SECRET}`],
    spec,
  );
  plainUrl = await listeningUrl(plain, 'bu signaling');
  relayedUrl = await listeningUrl(relayed, 'bu signaling with TURN');
}, 60_000);

afterAll(async () => {
  await stopAll();
  await Promise.all([plain?.stop(), relayed?.stop(), egress?.stop()]);
  turn?.kill();
  await new Promise((resolve) => origin?.close(resolve));
  lab?.stop();
});

/** The mapped addresses Chromium, run in `host`'s namespace, gathers from `urls`. */
async function gatherInChromium(host: LabHost, urls: readonly string[]): Promise<string[]> {
  const bundled = await build({
    entryPoints: [new URL('../../mesh/nat-discovery.ts', import.meta.url).pathname],
    bundle: true,
    format: 'iife',
    globalName: 'natDiscovery',
    write: false,
    target: 'es2022',
  });
  const dir = await mkdtemp(join(tmpdir(), 'bu-lab-chromium-'));
  const wrapper = join(dir, 'chromium');
  await writeFile(wrapper, `#!/bin/sh\nexec ${host.wrap.join(' ')} ${CHROMIUM_PATH} "$@"\n`);
  await chmod(wrapper, 0o755);
  const context = await chromium.launchPersistentContext(join(dir, 'profile'), {
    executablePath: wrapper,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  try {
    const page = await context.newPage();
    await page.addScriptTag({ content: bundled.outputFiles[0]?.text ?? '' });
    return await page.evaluate(
      (stun) =>
        (
          window as unknown as {
            natDiscovery: {
              gatherWithPeerConnection: (u: string[], s: AbortSignal) => Promise<string[]>;
            };
          }
        ).natDiscovery.gatherWithPeerConnection(stun, new AbortController().signal),
      [...urls],
    );
  } finally {
    await context.close();
    await rm(dir, { recursive: true, force: true });
  }
}

describe('the NAT lab', () => {
  it('Chromium gets one mapped address behind the 1:1 NAT and one per responder behind the symmetric NAT', async () => {
    const config = (await (await fetch(new URL('v1/config', plainUrl))).json()) as {
      natProbe: { urls: string[] };
    };
    const open = await gatherInChromium(lab.host('open'), config.natProbe.urls);
    expect(open).toEqual([expect.stringMatching(/^203\.0\.113\.11:\d+$/)]);
    const symmetric = await gatherInChromium(lab.host('sym1'), config.natProbe.urls);
    expect(symmetric).toHaveLength(2);
    for (const mapped of symmetric) expect(mapped).toMatch(/^203\.0\.113\.12:\d+$/);
  });

  it('discovery reports unrestricted behind a 1:1 NAT and with none, restricted behind a symmetric NAT', async () => {
    const open = volunteer(lab.host('open'), plainUrl);
    const symmetric = volunteer(lab.host('sym1'), plainUrl);
    const public_ = volunteer(undefined, plainUrl);
    expect(await natOf(open, 'the volunteer behind the 1:1 NAT')).toBe('unrestricted');
    expect(await natOf(symmetric, 'the volunteer behind the symmetric NAT')).toBe('restricted');
    expect(await natOf(public_, 'the volunteer with no NAT')).toBe('unrestricted');
    expect(await metric(plainUrl, 'bu_signaling_nat_probes_total{nat="restricted"}')).toBe(1);
    expect(await metric(plainUrl, 'bu_signaling_nat_probes_total{nat="unrestricted"}')).toBe(2);
    await stopAll();
  });

  it('a restricted consumer gets pages through an unrestricted volunteer', async () => {
    const open = volunteer(lab.host('open'), plainUrl);
    await natOf(open, 'the volunteer');
    const consumer = await proxy(lab.host('sym1'), plainUrl);
    expect(await natOf(consumer.process, 'bu proxy')).toBe('restricted');
    expect(await volunteersOf(consumer.process, 1, 45_000)).toBe(true);
    const result = await curlIn(lab.host('sym1'), consumer.http, originUrl);
    expect(result).toEqual({ code: 0, out: PAGE });
    await stopAll();
  });

  it('two restricted peers are not introduced when there is no TURN relay', async () => {
    const restricted = volunteer(lab.host('sym2'), plainUrl);
    expect(await natOf(restricted, 'the volunteer')).toBe('restricted');
    const denied = await metric(
      plainUrl,
      'bu_signaling_match_denials_total{reason="no-volunteers"}',
    );
    const consumer = await proxy(lab.host('sym1'), plainUrl);
    expect(await natOf(consumer.process, 'bu proxy')).toBe('restricted');
    expect(await volunteersOf(consumer.process, 1, 8_000)).toBe(false);
    expect(
      await metric(plainUrl, 'bu_signaling_match_denials_total{reason="no-volunteers"}'),
    ).toBeGreaterThan(denied);
    await stopAll();
  });

  it('introduced anyway (--ignore-nat), two restricted peers cannot connect directly', async () => {
    const forced = startSignaling(['--ignore-nat'], spec);
    running.push(forced);
    const url = await listeningUrl(forced, 'bu signaling --ignore-nat');
    const restricted = volunteer(lab.host('sym2'), url);
    await natOf(restricted, 'the volunteer');
    const consumer = await proxy(lab.host('sym1'), url);
    await natOf(consumer.process, 'bu proxy');
    await expect
      .poll(() => metric(url, 'bu_signaling_matches_total'), { timeout: 20_000 })
      .toBeGreaterThan(0);
    expect(await volunteersOf(consumer.process, 1, 10_000)).toBe(false);
    await stopAll();
  });

  it('with a TURN relay configured, two restricted peers connect through it', async () => {
    const restricted = volunteer(lab.host('sym2'), relayedUrl);
    expect(await natOf(restricted, 'the volunteer')).toBe('restricted');
    const consumer = await proxy(lab.host('sym1'), relayedUrl);
    expect(await natOf(consumer.process, 'bu proxy')).toBe('restricted');
    expect(await volunteersOf(consumer.process, 1, 45_000)).toBe(true);
    const result = await curlIn(lab.host('sym1'), consumer.http, originUrl);
    expect(result).toEqual({ code: 0, out: PAGE });
    await stopAll();
  });
});
