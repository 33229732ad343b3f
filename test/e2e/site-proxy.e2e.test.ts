/**
 * Browsing through /browse/ in Chromium: the hub's Consumer reaches a Node volunteer over
 * WebRTC (inside scripts/netns-run), the egress fetches a local test site, and the hub
 * rewrites what comes back. Every page must render, every request at the origin must come
 * from the egress (no browser headers), and the browser must request only the site.
 */
import {
  RTCIceCandidate,
  RTCPeerConnection,
  RTCSessionDescription,
} from 'node-datachannel/polyfill';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Volunteer } from '../../mesh/volunteer.ts';
import { launchChromium, type LaunchedChromium } from './chromium.ts';
import { startDemoSite, type DemoSite } from '../../cli/demo-site.ts';
import { startSiteStack, type SiteStack } from './site-stack.ts';

Object.assign(globalThis, { RTCPeerConnection, RTCSessionDescription, RTCIceCandidate, WebSocket });

let origin: DemoSite;
let stack: SiteStack;
let volunteer: Volunteer;
let chromium: LaunchedChromium;
const browserRequests: string[] = [];

beforeAll(async () => {
  origin = await startDemoSite();
  stack = await startSiteStack({ allow: [`127.0.0.1:${origin.port}`] });
  volunteer = new Volunteer({
    signaling: `${stack.url}/signal/`,
    kind: 'node',
    nat: 'unrestricted',
    iceServers: [],
    slots: 4,
  });
  await volunteer.start();
  chromium = await launchChromium();
  chromium.context.on('request', (request) => browserRequests.push(request.url()));
});

afterAll(async () => {
  await chromium?.close();
  await volunteer?.stop();
  await stack?.close();
  await origin?.close();
});

describe('/browse/ through a volunteer', () => {
  it('renders a test site of several pages through the proxy', async () => {
    const page = await chromium.context.newPage();
    const logs: string[] = [];
    page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
    await page.goto(`${stack.url}/browse/`);
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
    await expect
      .poll(() => page.textContent('#bu-volunteers'), { timeout: 30_000 })
      .not.toBe('0')
      .catch((err: unknown) => {
        throw new Error(`${String(err)}\n${logs.join('\n')}`);
      });

    await page.fill('#bu-url', `${origin.url}/`);
    await page.click('#bu-address button[type=submit]');
    const frame = page.frameLocator('#bu-frame');
    await expect
      .poll(() => frame.locator('#title').textContent(), { timeout: 20_000 })
      .toBe('Demo home');
    // CSS with @import and url(), and the image, came through.
    // The page lives in an origin of its own: <label>.localhost, not the hub's.
    const view = page.frame({ url: /^http:\/\/[a-z2-7]{26}\.localhost:\d+\// });
    expect(view).not.toBeNull();
    await expect
      .poll(() => view!.evaluate(() => getComputedStyle(document.getElementById('title')!).color))
      .toBe('rgb(4, 5, 6)');
    await expect
      .poll(() =>
        view!.evaluate(() => (document.getElementById('pixel') as HTMLImageElement).naturalWidth),
      )
      .toBe(1);

    // A relative link; fetch() and XMLHttpRequest in the page.
    await frame.locator('#relative').click();
    await expect.poll(() => frame.locator('#fetch').textContent()).toBe('fetch:plain');
    await expect.poll(() => frame.locator('#xhr').textContent()).toBe('xhr:xhr');
    expect(await page.inputValue('#bu-url')).toBe(`${origin.url}/second.html`);

    // Back, then an absolute link and a form POST answered with a redirect.
    await page.click('#bu-back');
    await expect.poll(() => frame.locator('#title').textContent()).toBe('Demo home');
    await frame.locator('#absolute').click();
    await frame.locator('#send').click();
    await expect.poll(() => frame.locator('#posted').textContent()).toBe('posted tester');

    // A redirect, and a page that assigns location.href.
    await page.fill('#bu-url', `${origin.url}/redirect`);
    await page.click('#bu-address button[type=submit]');
    await expect.poll(() => frame.locator('#fetch').textContent()).toBe('fetch:plain');
    await page.fill('#bu-url', `${origin.url}/assign`);
    await page.click('#bu-address button[type=submit]');
    await expect
      .poll(() => page.inputValue('#bu-url'), { timeout: 10_000 })
      .toBe(`${origin.url}/second.html?assigned=1`);

    // Nothing reached the origin from the browser itself.
    expect(origin.log.length).toBeGreaterThan(8);
    for (const request of origin.log) {
      expect(request.userAgent, request.path).not.toMatch(/Chrome|Mozilla/);
      expect(request.secFetch, request.path).toBe(false);
    }
    const direct = browserRequests.filter((url) => url.startsWith(origin.url));
    expect(direct).toEqual([]);
    await page.close();
  });

  it('keeps a cookie set on one page for the next (the hub keeps the jar, the egress sends it)', async () => {
    const page = await chromium.context.newPage();
    await page.goto(`${stack.url}/browse/`);
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
    await expect.poll(() => page.textContent('#bu-volunteers'), { timeout: 30_000 }).not.toBe('0');
    await page.fill('#bu-url', `${origin.url}/set-cookie`);
    await page.click('#bu-address button[type=submit]');
    const frame = page.frameLocator('#bu-frame');
    await frame.locator('#next').click({ timeout: 20_000 });
    await expect
      .poll(() => frame.locator('#cookie').textContent(), { timeout: 20_000 })
      .toBe('cookie: flavour=oat');
    const read = origin.log.filter((r) => r.path === '/read-cookie');
    expect(read.at(-1)?.cookie).toBe('flavour=oat');
    await page.close();
  });
});
