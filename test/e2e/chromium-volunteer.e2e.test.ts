/**
 * The chain with the volunteer in real Chromium: a page bundles mesh/volunteer.ts (esbuild)
 * and runs it; `bu serve` and `bu proxy` run as processes; real curl goes through the proxy.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { build } from 'esbuild';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SERVE_HOST,
  startOrigins,
  startProxy,
  startServe,
  waitForVolunteers,
  type Origins,
  type Proxy,
  type Serve,
} from './chain-harness.ts';
import { launchChromium, type LaunchedChromium } from './chromium.ts';
import { transferTests } from './curl-transfers.ts';

let origins: Origins;
let serve: Serve;
let proxy: Proxy;
let site: Server;
let chromium: LaunchedChromium;
let page: Page;
const timings = new Map<string, number>();

interface PageStatus {
  state: string;
  consumers: number;
  up: number;
  down: number;
  errors: string[];
}

async function pageStatus(): Promise<PageStatus> {
  return page.evaluate(() => (window as unknown as { buStatus: PageStatus }).buStatus);
}

async function waitForPage(check: (status: PageStatus) => boolean, what: string): Promise<void> {
  for (let i = 0; i < 240; i++) {
    if (check(await pageStatus())) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`timed out waiting for ${what}: ${JSON.stringify(await pageStatus())}`);
}

beforeAll(async () => {
  const bundle = await build({
    entryPoints: [new URL('./fixtures/volunteer-page.ts', import.meta.url).pathname],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  const script = bundle.outputFiles[0]?.text ?? '';
  site = createServer((req, res) => {
    if (req.url?.startsWith('/volunteer.js')) {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
    } else {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(
        '<!doctype html><title>volunteer</title><script type="module" src="/volunteer.js"></script>',
      );
    }
  });
  await new Promise<void>((resolve) => site.listen(0, SERVE_HOST, resolve));
  const sitePort = (site.address() as AddressInfo).port;

  origins = await startOrigins();
  serve = await startServe([`127.0.0.1:${origins.httpPort}`, `127.0.0.1:${origins.httpsPort}`]);
  chromium = await launchChromium();
  page = await chromium.context.newPage();
  await page.goto(
    `http://${SERVE_HOST}:${sitePort}/?signaling=${encodeURIComponent(serve.signaling)}`,
  );
  await waitForPage((s) => s.state === 'on', 'the volunteer page to be on');
  proxy = await startProxy(serve.signaling, ['--volunteers', '1']);
  await waitForVolunteers(proxy, 1);
});

afterAll(async () => {
  console.log(JSON.stringify(Object.fromEntries(timings)));
  if (process.env['BU_DEBUG']) {
    console.log(proxy.process.lines.filter((l) => !l.includes('"status"')).join('\n'));
    console.log(JSON.stringify(await pageStatus()));
    console.log(serve.process.lines.filter((l) => l.startsWith('{"time')).join('\n'));
  }
  await proxy?.process.stop();
  await chromium?.close();
  await serve?.process.stop();
  origins?.close();
  site?.close();
});

describe('the chain with the volunteer in Chromium', () => {
  it('the page volunteer serves the proxy', async () => {
    await waitForPage((s) => s.consumers === 1, 'the page to count its consumer');
    expect((await pageStatus()).state).toBe('on');
  });

  transferTests(() => ({ proxy, origins, timings }));

  it('counted what it relayed', async () => {
    const status = await pageStatus();
    expect(status.down).toBeGreaterThan(4 * 64 * 1024 * 1024);
  });

  it('lets a consumer that vanished go: bu proxy killed, its slot is free again', async () => {
    // Chromium keeps a data channel open after its peer vanished; the volunteer goes by the
    // peer connection's state, which fails once ICE consent runs out (seconds, not never).
    await proxy.process.stop('SIGKILL');
    await waitForPage((s) => s.consumers === 0, 'the page to let its consumer go');
    expect((await pageStatus()).state).toBe('on');
  });
});
