/**
 * The widget in real mode: in Chromium, <browsers-unbounded data-mock="false">
 * is switched on by a click, its browser volunteer (mesh, loaded on demand)
 * gets matched, and a Node consumer reaches a local origin through it.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { promisify } from 'node:util';
import {
  RTCIceCandidate,
  RTCPeerConnection,
  RTCSessionDescription,
} from 'node-datachannel/polyfill';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startEgressServer, type EgressServer } from '../../egress/server.ts';
import { Consumer } from '../../mesh/consumer.ts';
import { bytesToBase64url } from '../../protocol/bytes.ts';
import { generateKeyPair } from '../../protocol/noise/crypto-suite.ts';
import { createLogger } from '../../signaling/logger.ts';
import { startSignalingServer, type SignalingServer } from '../../signaling/server.ts';
import { launchChromium, type LaunchedChromium } from './chromium.ts';

Object.assign(globalThis, { RTCPeerConnection, RTCSessionDescription, RTCIceCandidate, WebSocket });

const HOST = '10.77.0.1';
const ROOT = new URL('../../', import.meta.url).pathname;
const WIDGET_DIR = join(ROOT, 'dist/widget');
const key = generateKeyPair();
let egress: EgressServer;
let signaling: SignalingServer;
let origin: Server;
let site: Server;
let browser: LaunchedChromium;
let consumer: Consumer | undefined;
let page: Page;
let originUrl = '';

function listen(server: Server, host: string): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, host, () => resolve((server.address() as AddressInfo).port)),
  );
}

beforeAll(async () => {
  await promisify(execFile)(process.execPath, [join(ROOT, 'components/build.mjs')]);
  const body = randomBytes(512 * 1024);
  origin = createServer((_req, res) => {
    res.writeHead(200, { 'x-sha256': createHash('sha256').update(body).digest('hex') });
    res.end(body);
  });
  const originPort = await listen(origin, '127.0.0.1');
  egress = await startEgressServer({
    host: HOST,
    port: 0,
    key,
    allow: [`127.0.0.1:${originPort}`],
    log: 'silent',
  });
  signaling = await startSignalingServer({
    host: HOST,
    port: 0,
    geoip: false,
    allowSameIp: true,
    logger: createLogger('silent'),
    egresses: [
      {
        id: 'local',
        url: `ws://${HOST}:${egress.port}/`,
        publicKey: bytesToBase64url(key.publicKey),
      },
    ],
  });
  site = createServer((req, res) => {
    const path = normalize(new URL(req.url ?? '/', 'http://x').pathname);
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<!doctype html><meta charset="utf-8"><title>widget</title>
        <script type="module" src="/browsers-unbounded.js"></script>
        <browsers-unbounded data-layout="panel" data-mock="false" data-globe="false"
          data-signaling="${signaling.url}"></browsers-unbounded>`);
      return;
    }
    readFile(join(WIDGET_DIR, path)).then(
      (file) => {
        res.writeHead(200, {
          'content-type': extname(path) === '.js' ? 'text/javascript' : 'application/octet-stream',
        });
        res.end(file);
      },
      () => res.writeHead(404).end(),
    );
  });
  const sitePort = await listen(site, HOST);
  browser = await launchChromium();
  page = await browser.context.newPage();
  await page.goto(`http://${HOST}:${sitePort}/`);
  originUrl = `http://127.0.0.1:${originPort}/`;
}, 120_000);

afterAll(async () => {
  await consumer?.stop();
  await browser?.close();
  await signaling?.close();
  await egress?.close();
  origin?.close();
  site?.close();
});

describe('the widget as a real volunteer (Chromium)', () => {
  it('switches on, gets matched and relays a consumer to the origin', async () => {
    await page.evaluate(() => {
      const events: string[] = [];
      (window as unknown as { buEvents: string[] }).buEvents = events;
      document.addEventListener('bu-state', (e) =>
        events.push(`state:${(e as CustomEvent<{ state: string }>).detail.state}`),
      );
      document.addEventListener('bu-connection', (e) =>
        events.push(`connection:${String((e as CustomEvent<{ open: boolean }>).detail.open)}`),
      );
    });
    const toggle = page.getByRole('switch');
    await toggle.click();
    await page.waitForFunction(
      () => (window as unknown as { buEvents: string[] }).buEvents.includes('state:on'),
      undefined,
      { timeout: 30_000 },
    );
    expect(await toggle.getAttribute('aria-checked')).toBe('true');

    consumer = new Consumer({
      signaling: signaling.url,
      iceServers: [],
      volunteers: 1,
      // The browser volunteer reports an unknown NAT type; an unrestricted consumer may use it.
      nat: 'unrestricted',
    });
    await consumer.start();
    const response = await consumer.fetch(new Request(originUrl), 30_000);
    const bytes = Buffer.from(await response.arrayBuffer());
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(response.headers.get('x-sha256'));
    await page.waitForFunction(
      () => (window as unknown as { buEvents: string[] }).buEvents.includes('connection:true'),
      undefined,
      { timeout: 10_000 },
    );

    await toggle.click();
    await page.waitForFunction(
      () => (window as unknown as { buEvents: string[] }).buEvents.includes('state:off'),
      undefined,
      { timeout: 30_000 },
    );
  });
});
