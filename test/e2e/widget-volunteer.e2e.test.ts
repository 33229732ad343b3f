/**
 * The widget in real mode: in Chromium, <browsers-unbounded data-mock="false">
 * is switched on by a real click, its browser volunteer (mesh, loaded on
 * demand) gets matched with `bu proxy`, curl reaches a local origin through it,
 * and the widget's counters move.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SignalingServer } from '../../signaling/server.ts';
import {
  curl,
  SERVE_HOST as HOST,
  startProxy,
  waitForVolunteers,
  type Proxy,
} from './chain-harness.ts';
import { launchChromium, type LaunchedChromium } from './chromium.ts';
import { startInProcessServers, type InProcessServers } from './in-process-servers.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const WIDGET_DIR = join(ROOT, 'dist/widget');
let servers: InProcessServers | undefined;
let signaling: SignalingServer;
let origin: Server;
let site: Server;
let browser: LaunchedChromium;
let proxy: Proxy | undefined;
let page: Page;
let originUrl = '';
let originSha256 = '';

function listen(server: Server, host: string): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, host, () => resolve((server.address() as AddressInfo).port)),
  );
}

beforeAll(async () => {
  await promisify(execFile)(process.execPath, [join(ROOT, 'components/build.mjs')]);
  const body = randomBytes(512 * 1024);
  originSha256 = createHash('sha256').update(body).digest('hex');
  origin = createServer((_req, res) => {
    res.writeHead(200, { 'x-sha256': createHash('sha256').update(body).digest('hex') });
    res.end(body);
  });
  const originPort = await listen(origin, '127.0.0.1');
  // Both ends report an unknown NAT type; on one machine that does not matter.
  servers = await startInProcessServers({ allow: [`127.0.0.1:${originPort}`], ignoreNat: true });
  signaling = servers.signaling;
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
  await proxy?.process.stop();
  await browser?.close();
  await servers?.close();
  origin?.close();
  site?.close();
});

describe('the widget as a real volunteer (Chromium)', () => {
  it('switches on by a click, serves bu proxy so curl succeeds, and its counters move', async () => {
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

    proxy = await startProxy(signaling.url, ['--volunteers', '1']);
    await waitForVolunteers(proxy, 1);
    const result = await curl('http', proxy, originUrl);
    expect(result.status).toBe('200');
    expect(result.sha256).toBe(originSha256);
    await page.waitForFunction(
      () => (window as unknown as { buEvents: string[] }).buEvents.includes('connection:true'),
      undefined,
      { timeout: 10_000 },
    );

    // The counters move: one consumer, and at least the body's bytes relayed.
    await page.waitForFunction(
      (least) => {
        const widget = document.querySelector('browsers-unbounded') as unknown as {
          stats: { total: number; sessionBytes: number };
        };
        return widget.stats.total >= 1 && widget.stats.sessionBytes > least;
      },
      512 * 1024,
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
