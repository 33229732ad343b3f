/**
 * Interop with a real service-worker web proxy: Ultraviolet browses a local site
 * in real Chromium, its traffic carried by bare-mux and epoxy-transport over Wisp, against
 * our egress's `/wisp/` and, in the same file, against the reference server
 * (@mercuryworkshop/wisp-js), so a failure says whose fault it is: when the reference side
 * fails too, look at the proxy stack or the test; when only `ours` fails, at the egress.
 *
 * The proxy stack (devDependencies, for this test only; never bundled into our code):
 * - @titaniumnetwork-dev/ultraviolet 3.2.10 (AGPL-3.0 in its LICENSE file; its package.json
 *   says MIT): the service worker, its stock sw.js and uv.config.js.
 * - @mercuryworkshop/bare-mux 2.1.9 (MIT, in its LICENSE file): the SharedWorker that holds
 *   the transport.
 * - @mercuryworkshop/epoxy-transport 3.0.1 (AGPL-3.0-only), on epoxy-tls 2.1.19-1
 *   (AGPL-3.0-only): Wisp v1, or v2 by its `wisp_v2` option. It speaks the newer
 *   proxy-transports header shape, not bare-mux 2's, so it runs behind a small adapter of
 *   ours (web-proxy-interop/transport-adapter.ts).
 *
 * The transport runs in bare-mux's SharedWorker, so a pass-through tap in front of each Wisp
 * server (web-proxy-interop/wisp-tap.ts) records which Wisp version was spoken.
 *
 * Everything listens on 127.0.0.1; Chromium runs with the project's flags and the test checks
 * it asked for nothing off 127.0.0.1 and never reached the origin itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startTestEgress, type TestEgress } from '../../egress/test/harness.ts';
import { launchChromium, type LaunchedChromium } from './chromium.ts';
import {
  startReferenceWispServer,
  type ReferenceWispServer,
} from './wisp-interop/reference-server.ts';
import {
  GREETING_COLOR,
  IMAGE_HEIGHT,
  IMAGE_WIDTH,
  PAGE_TEXT,
  PAGE_TITLE,
  SCRIPT_TEXT,
  SECOND_TEXT,
  SECOND_TITLE,
  startOriginSite,
  type OriginSite,
} from './web-proxy-interop/origin-site.ts';
import { startWebProxyFrontEnd, type WebProxyFrontEnd } from './web-proxy-interop/front-end.ts';
import type { ProxiedView, WebProxyPage } from './web-proxy-interop/page-api.ts';
import { startWispTap } from './web-proxy-interop/wisp-tap.ts';
import { wispVersionOf } from './wisp-interop/cases.ts';

/** How long the proxied page may take to show up. */
const LOAD_TIMEOUT_MS = 20_000;

interface Mode {
  readonly server: 'ours' | 'reference';
  readonly v2: boolean;
  readonly label: string;
}

const MODES: readonly Mode[] = [
  { server: 'ours', v2: false, label: 'our /wisp/, Wisp v1' },
  { server: 'reference', v2: false, label: 'the reference server, Wisp v1' },
  { server: 'ours', v2: true, label: 'our /wisp/, Wisp v2' },
  { server: 'reference', v2: true, label: 'the reference server, Wisp v2' },
];

let origin: OriginSite;
let egress: TestEgress;
let reference: ReferenceWispServer;
let chromium: LaunchedChromium;
const closers: (() => Promise<void>)[] = [];
const offMachine: string[] = [];
/** Requests Chromium itself sent to the origin: each one a leak past the proxy. */
const direct: string[] = [];

beforeAll(async () => {
  origin = await startOriginSite();
  egress = await startTestEgress({ allow: [`127.0.0.1:${origin.port}`] });
  // The reference server takes a port to refuse; the egress's own port, which nothing here
  // asks it to dial, will do.
  reference = await startReferenceWispServer(egress.port);
  chromium = await launchChromium();
  const watch = (url: string): void => {
    const { hostname, port } = new URL(url);
    if (hostname !== '127.0.0.1') offMachine.push(url);
    else if (port === String(origin.port)) direct.push(url);
  };
  chromium.context.on('request', (request) => watch(request.url()));
  chromium.context.on('page', (page) => page.on('websocket', (ws) => watch(ws.url())));
});

afterAll(async () => {
  await chromium?.close();
  await Promise.all(closers.map((close) => close()));
  await reference?.close();
  await egress?.close();
  await origin?.close();
  expect({ offMachine, direct }).toEqual({ offMachine: [], direct: [] });
});

/** The sum of `bu_egress_streams_total{endpoint="wisp",…}` over its types. */
async function wispStreams(): Promise<number> {
  const text = await egress.metricsText();
  let total = 0;
  for (const match of text.matchAll(
    /^bu_egress_streams_total\{[^}]*endpoint="wisp"[^}]*\} (\d+)/gm,
  ))
    total += Number(match[1]);
  return total;
}

async function viewOf(page: Page): Promise<ProxiedView | null> {
  return page.evaluate(() => (window as unknown as { webProxy: WebProxyPage }).webProxy.view());
}

/**
 * Opens the front page for `wispUrl`, browses the origin's first page in the proxy's
 * iframe, checks what arrived, follows its link and checks the second page.
 */
async function browse(frontEnd: WebProxyFrontEnd, wispUrl: string, v2: boolean): Promise<void> {
  const page = await chromium.context.newPage();
  const consoleLines: string[] = [];
  page.on('console', (message) => consoleLines.push(`${message.type()}: ${message.text()}`));
  try {
    await page.goto(frontEnd.pageUrl(wispUrl, v2));
    await page.waitForFunction(() => document.title !== 'loading', null, {
      timeout: LOAD_TIMEOUT_MS,
    });
    expect(await page.title()).toBe('ready');

    const proxied = await page.evaluate(
      (url) => (window as unknown as { webProxy: WebProxyPage }).webProxy.open(url),
      origin.url,
    );
    expect(proxied).toMatch(/^\/service\//);
    await expect
      .poll(() => viewOf(page), { timeout: LOAD_TIMEOUT_MS, interval: 100 })
      .toMatchObject({
        title: PAGE_TITLE,
        greeting: PAGE_TEXT,
        greetingColor: GREETING_COLOR,
        scripted: SCRIPT_TEXT,
        imageSize: [IMAGE_WIDTH, IMAGE_HEIGHT],
      });
    expect(new URL((await viewOf(page))?.href ?? '').pathname).toBe(proxied);

    await page.evaluate(() =>
      (window as unknown as { webProxy: WebProxyPage }).webProxy.clickLink(),
    );
    await expect
      .poll(() => viewOf(page), { timeout: LOAD_TIMEOUT_MS, interval: 100 })
      .toMatchObject({ title: SECOND_TITLE, greeting: SECOND_TEXT });
    // Ultraviolet rewrote the link into its prefix, so the frame stayed in the proxy.
    expect(new URL((await viewOf(page))?.href ?? '').pathname).toMatch(/^\/service\//);
  } catch (error) {
    // The page's console says which layer failed (service worker, bare-mux, transport).
    throw new Error(`${String(error)}\nfront page console:\n${consoleLines.join('\n')}`, {
      cause: error,
    });
  } finally {
    await page.close();
  }
}

describe.each(MODES)('Ultraviolet over epoxy-transport, through $label', (mode) => {
  it('browses a local page with its stylesheet, script and image, then follows a link', async () => {
    // A fresh origin per case: its own service worker and bare-mux transport.
    const frontEnd = await startWebProxyFrontEnd();
    closers.push(() => frontEnd.close());
    const tap = await startWispTap(
      mode.server === 'ours' ? egress.wsUrl('wisp/') : reference.wispUrl,
    );
    closers.push(() => tap.close());
    const streamsBefore = await wispStreams();
    const requestsBefore = origin.requests.length;

    await browse(frontEnd, tap.wispUrl, mode.v2);

    expect(origin.requests.slice(requestsBefore).sort()).toEqual(
      ['/', '/image.png', '/script.js', '/second', '/style.css'].sort(),
    );
    expect([...new Set(tap.sockets.map(wispVersionOf))]).toEqual([mode.v2 ? 'v2' : 'v1']);
    const streamsAfter = await wispStreams();
    // Proof the traffic went through our /wisp/ (and, for the reference, not through it).
    if (mode.server === 'ours') expect(streamsAfter).toBeGreaterThan(streamsBefore);
    else expect(streamsAfter).toBe(streamsBefore);
  });
});
