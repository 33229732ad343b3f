/**
 * /netstate/ in Chromium against a live network: two Node volunteers and a Node consumer
 * matched through the site's signaling service (inside scripts/netns-run). The page must show
 * the totals and a node for each side's country (all "Unknown" here: the stack runs without
 * geoip), request nothing outside the site's origin, and say so clearly when the endpoint
 * cannot be reached. It also writes screenshots (to artifacts/screenshots/site/, or BU_SCREENSHOTS) of
 * /netstate/ (live, and a busy network from a fixed answer) and of /browse/ with a proxied page,
 * in light and dark, desktop and phone.
 */
import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  RTCIceCandidate,
  RTCPeerConnection,
  RTCSessionDescription,
} from 'node-datachannel/polyfill';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Consumer } from '../../mesh/consumer.ts';
import { Volunteer } from '../../mesh/volunteer.ts';
import { launchChromium, type LaunchedChromium } from './chromium.ts';
import { startSiteStack, type SiteStack } from './site-stack.ts';

/** Where screenshots go: test artifacts to look at (BU_SCREENSHOTS overrides). */
const SHOTS =
  process.env['BU_SCREENSHOTS'] ??
  fileURLToPath(new URL('../../artifacts/screenshots/site/', import.meta.url));

Object.assign(globalThis, { RTCPeerConnection, RTCSessionDescription, RTCIceCandidate, WebSocket });

let article: { url: string; server: Server };
let stack: SiteStack;
let volunteers: Volunteer[] = [];
let consumer: Consumer;
let chromium: LaunchedChromium;

/** A small styled page to load through /browse/ for the screenshots. */
async function startArticle(): Promise<{ url: string; server: Server }> {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Local news</title><link rel="stylesheet" href="/article.css"></head><body>
<header><strong>The Local Courier</strong><nav><a href="/">Home</a> <a href="/">World</a> <a href="/">Science</a></nav></header>
<main><h1 id="headline">Volunteers keep the library open late</h1>
<p class="meta">Saturday · 3 min read</p>
<img src="/photo.svg" alt="A drawing of a library" width="640" height="240">
<p>Readers who could not reach the catalogue from home found it through a neighbour's browser tab
this week. The page you are reading came the same way: through a volunteer, to the egress, and back.</p>
<p>Every address on this page points back through the proxy; anything it missed is blocked by the
page's content security policy instead of being fetched directly.</p></main></body></html>`;
  const css = `body{margin:0;font:17px/1.6 Georgia,serif;color:#222;background:#fbfaf7}
header{display:flex;justify-content:space-between;flex-wrap:wrap;gap:.5rem;padding:.8rem 1.2rem;background:#1d3557;color:#fff}
header a{color:#cfe0ff;margin-left:.8rem}main{max-width:40rem;margin:0 auto;padding:1rem 1.2rem}
h1{font-size:1.9rem;line-height:1.2}.meta{color:#666}img{max-width:100%;height:auto;border-radius:6px}`;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 640 240"><rect width="640" height="240" fill="#e9c46a"/>
${Array.from({ length: 12 }, (_, i) => `<rect x="${30 + i * 50}" y="${40 + (i % 3) * 10}" width="36" height="${160 - (i % 3) * 10}" fill="${['#264653', '#2a9d8f', '#e76f51'][i % 3]}"/>`).join('')}
</svg>`;
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/article.css') res.writeHead(200, { 'content-type': 'text/css' }).end(css);
    else if (path === '/photo.svg')
      res.writeHead(200, { 'content-type': 'image/svg+xml' }).end(svg);
    else res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

beforeAll(async () => {
  article = await startArticle();
  stack = await startSiteStack({ allow: [article.url.replace('http://', '')] });
  const signaling = `${stack.url}/signal/`;
  volunteers = [
    new Volunteer({ signaling, kind: 'node', nat: 'unrestricted', iceServers: [], slots: 4 }),
    new Volunteer({ signaling, kind: 'node', nat: 'restricted', iceServers: [], slots: 4 }),
  ];
  await Promise.all(volunteers.map((v) => v.start()));
  consumer = new Consumer({ signaling, volunteers: 2, nat: 'unrestricted', iceServers: [] });
  await consumer.start();
  const deadline = Date.now() + 30_000;
  while (consumer.status.volunteers < 2) {
    if (Date.now() > deadline) throw new Error('the consumer found no two volunteers in 30 s');
    await new Promise((done) => setTimeout(done, 100));
  }
  chromium = await launchChromium();
});

afterAll(async () => {
  await chromium?.close();
  await consumer?.stop();
  await Promise.all(volunteers.map((v) => v.stop()));
  await stack?.close();
  await new Promise((done) => article?.server.close(done));
});

describe('/netstate/', () => {
  it('shows the totals, a node per side and the links, and requests only its own origin', async () => {
    const page = await chromium.context.newPage();
    const requests: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    const sockets: string[] = [];
    page.on('websocket', (socket) => sockets.push(socket.url()));
    await page.goto(`${stack.url}/netstate/`);
    await expect
      .poll(() => page.getAttribute('[data-netstate]', 'data-state'), { timeout: 10_000 })
      .toBe('ok');

    expect(await page.textContent('#ns-volunteers')).toBe('2');
    expect(await page.textContent('#ns-consumers')).toBe('1');
    expect(await page.textContent('#ns-pairs')).toBe('2');
    expect(await page.textContent('#ns-available')).toMatch(/^\d ready for someone now$/);
    expect(await page.textContent('#ns-status')).toMatch(/^Updated at .+; refreshes every 5/);
    expect(await page.isHidden('#ns-error')).toBe(true);

    // One node per side, for the unknown country, with its count; one line, two pairs thick.
    const volunteerNode = page.locator('li.node[data-role="volunteer"]');
    expect(await volunteerNode.count()).toBe(1);
    expect(await volunteerNode.getAttribute('data-key')).toBe('ZZ');
    expect(await volunteerNode.getAttribute('data-count')).toBe('2');
    expect(await volunteerNode.textContent()).toBe('Unknown2');
    const consumerNode = page.locator('li.node[data-role="consumer"]');
    expect(await consumerNode.getAttribute('data-key')).toBe('ZZ');
    expect(await consumerNode.getAttribute('data-count')).toBe('1');
    const link = page.locator('svg.links path.link');
    expect(await link.count()).toBe(1);
    expect(await link.getAttribute('data-count')).toBe('2');
    // The line runs between the two dots: its ends are at their heights.
    const ends = await page.evaluate(() => {
      const path = document.querySelector('svg.links path.link');
      const svg = document.querySelector('svg.links');
      const dots = [...document.querySelectorAll('li.node .dot')];
      if (!(path instanceof SVGPathElement) || !svg) return undefined;
      const top = svg.getBoundingClientRect().top;
      const length = path.getTotalLength();
      return {
        start: path.getPointAtLength(0).y,
        end: path.getPointAtLength(length).y,
        dots: dots.map((dot) => {
          const box = dot.getBoundingClientRect();
          return box.top + box.height / 2 - top;
        }),
      };
    });
    expect(ends).toBeDefined();
    expect(Math.abs(ends!.start - ends!.dots[0]!)).toBeLessThan(1);
    expect(Math.abs(ends!.end - ends!.dots[1]!)).toBeLessThan(1);

    // The accessible tables hold the same numbers.
    const countries = await page.locator('#ns-countries tr').allTextContents();
    expect(countries).toEqual(['Unknown21']);
    expect(await page.locator('#ns-links tr').allTextContents()).toEqual(['UnknownUnknown2']);
    const kinds = await page.locator('#ns-kinds tr').allTextContents();
    // The volunteer that claims an open NAT counts as "not known": the server has no evidence.
    expect(kinds).toContain('Open NAT (unrestricted)0');
    expect(kinds).toContain('NAT not known1');
    expect(kinds).toContain('Restricted NAT1');
    expect(kinds).toContain('bu volunteer (command line)2');

    // It polls: wait for a second answer, then check where every request went.
    const first = await page.getAttribute('#ns-status time', 'datetime');
    await expect
      .poll(() => page.getAttribute('#ns-status time', 'datetime'), { timeout: 15_000 })
      .not.toBe(first);
    expect(requests.filter((url) => url.includes('/signal/v1/netstate')).length).toBeGreaterThan(1);
    expect(requests.filter((url) => !url.startsWith(`${stack.url}/`))).toEqual([]);
    expect(sockets).toEqual([]);
    await page.close();
  });

  it('says when the endpoint is unreachable, keeps the last numbers, and recovers', async () => {
    const page = await chromium.context.newPage();
    await page.goto(`${stack.url}/netstate/`);
    await expect.poll(() => page.getAttribute('[data-netstate]', 'data-state')).toBe('ok');
    await page.route('**/signal/v1/netstate', (route) => route.abort('connectionrefused'));
    await expect
      .poll(() => page.getAttribute('[data-netstate]', 'data-state'), { timeout: 15_000 })
      .toBe('error');
    expect(await page.getAttribute('[data-netstate]', 'data-error')).toBe(
      'ERR_NETSTATE_UNREACHABLE',
    );
    expect(await page.isVisible('#ns-error')).toBe(true);
    expect(await page.textContent('#ns-error')).toMatch(/^Cannot reach the signaling server/);
    expect(await page.textContent('#ns-status')).toMatch(/^Showing the numbers from /);
    expect(await page.textContent('#ns-volunteers')).toBe('2');
    await screenshotsOf(page, 'netstate-error');

    // A malformed answer is an error of its own kind.
    await page.unroute('**/signal/v1/netstate');
    await page.route('**/signal/v1/netstate', (route) =>
      route.fulfill({ status: 200, contentType: 'application/json', body: '{"version":2}' }),
    );
    await expect
      .poll(() => page.getAttribute('[data-netstate]', 'data-error'), { timeout: 15_000 })
      .toBe('ERR_NETSTATE_INVALID');

    await page.unroute('**/signal/v1/netstate');
    await expect
      .poll(() => page.getAttribute('[data-netstate]', 'data-state'), { timeout: 15_000 })
      .toBe('ok');
    expect(await page.isHidden('#ns-error')).toBe(true);
    await page.close();
  });
});

const LAYOUTS = [
  [1280, 900, 'desktop'],
  [390, 844, 'phone'],
] as const;

/** Writes `name-{desktop,phone}-{light,dark}.png` of the page as it is now. */
async function screenshotsOf(page: Page, name: string): Promise<void> {
  const dir = SHOTS;
  await mkdir(dir, { recursive: true });
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    for (const [width, height, label] of LAYOUTS) {
      await page.setViewportSize({ width, height });
      await page.waitForTimeout(300);
      await page.screenshot({ path: join(dir, `${name}-${label}-${scheme}.png`), fullPage: true });
    }
  }
}

/** A busy network: more countries than the graph has rows, long names, several links. */
const BUSY = {
  version: 1,
  generatedAt: new Date().toISOString(),
  unknownCountry: 'ZZ',
  volunteers: {
    total: 212,
    available: 57,
    byCountry: [
      ['US', 48],
      ['DE', 41],
      ['NL', 22],
      ['GB', 19],
      ['FR', 17],
      ['SE', 12],
      ['CA', 11],
      ['JP', 9],
      ['BA', 8],
      ['CH', 7],
      ['ZZ', 6],
      ['BR', 5],
      ['AU', 4],
      ['NZ', 3],
    ].map(([country, count]) => ({ country, count })),
    byNat: { unrestricted: 61, restricted: 120, unknown: 31 },
    byKind: { browser: 190, node: 22 },
  },
  consumers: {
    total: 96,
    byCountry: [
      ['IR', 38],
      ['RU', 21],
      ['CN', 14],
      ['BY', 8],
      ['TM', 6],
      ['MM', 5],
      ['CD', 4],
    ].map(([country, count]) => ({ country, count })),
  },
  matchedPairs: {
    total: 131,
    byCountryPair: [
      ['US', 'IR', 30],
      ['DE', 'IR', 22],
      ['DE', 'RU', 15],
      ['NL', 'RU', 11],
      ['GB', 'CN', 10],
      ['US', 'CN', 9],
      ['FR', 'BY', 8],
      ['SE', 'TM', 6],
      ['CA', 'MM', 5],
      ['BA', 'CD', 4],
      ['JP', 'CN', 4],
      ['NZ', 'IR', 3],
      ['ZZ', 'RU', 2],
      ['AU', 'MM', 2],
    ].map(([volunteer, consumer, count]) => ({ volunteer, consumer, count })),
  },
};

describe('screenshots', () => {
  const dir = SHOTS;

  it('of /netstate/, live and busy, in light and dark', async () => {
    const page = await chromium.context.newPage();
    await page.goto(`${stack.url}/netstate/`);
    await expect.poll(() => page.getAttribute('[data-netstate]', 'data-state')).toBe('ok');
    await screenshotsOf(page, 'netstate-live');
    await page.close();

    const busy = await chromium.context.newPage();
    await busy.route('**/signal/v1/netstate', (route) =>
      route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(BUSY) }),
    );
    await busy.goto(`${stack.url}/netstate/`);
    await expect.poll(() => busy.getAttribute('[data-netstate]', 'data-state')).toBe('ok');
    // Ten rows: nine countries and the rest folded into one.
    expect(await busy.locator('li.node[data-role="volunteer"]').count()).toBe(10);
    expect(await busy.textContent('li.node[data-key="other"]')).toContain('5 others');
    await screenshotsOf(busy, 'netstate-busy');
    await busy.close();
  });

  it('of /browse/ with a proxied page, in light and dark, desktop and phone', async () => {
    for (const scheme of ['light', 'dark'] as const) {
      for (const [width, height, label] of LAYOUTS) {
        const page = await chromium.context.newPage();
        await page.emulateMedia({ colorScheme: scheme });
        await page.setViewportSize({ width, height });
        await page.goto(`${stack.url}/browse/`);
        await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
        await expect
          .poll(() => page.textContent('#bu-volunteers'), { timeout: 30_000 })
          .not.toBe('0');
        await page.fill('#bu-url', `${article.url}/`);
        // Enter, as on a phone, where the Go button is hidden.
        await page.press('#bu-url', 'Enter');
        const frame = page.frameLocator('#bu-frame');
        await expect
          .poll(() => frame.locator('#headline').textContent(), { timeout: 20_000 })
          .toBe('Volunteers keep the library open late');
        await page.waitForTimeout(500);
        await page.screenshot({ path: join(dir, `browse-proxied-${label}-${scheme}.png`) });
        await page.close();
      }
    }
  });
});
