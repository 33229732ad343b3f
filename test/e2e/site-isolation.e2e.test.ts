/**
 * Two proxied sites in /browse/, each in a browser origin of its own: each sets and reads
 * cookies (one HttpOnly) and localStorage; neither sees the other's; both keep working across
 * navigations and reloads; a cookie written by a page's script reaches its own origin server
 * only; and the hub's origin is out of every page's reach.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  RTCIceCandidate,
  RTCPeerConnection,
  RTCSessionDescription,
} from 'node-datachannel/polyfill';
import type { Frame, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Volunteer } from '../../mesh/volunteer.ts';
import { launchChromium, type LaunchedChromium } from './chromium.ts';
import { startSiteStack, type SiteStack } from './site-stack.ts';

Object.assign(globalThis, { RTCPeerConnection, RTCSessionDescription, RTCIceCandidate, WebSocket });

interface Site {
  readonly name: string;
  readonly url: string;
  /** The Cookie header of every request, in order. */
  readonly cookies: string[];
  close(): void;
}

/** A small site: `/` sets a plain and an HttpOnly cookie, `/page` shows what a script sees. */
function page(name: string): string {
  return `<!doctype html><html><head><title>${name}</title></head><body>
<h1 id="name">${name}</h1>
<p id="cookie"></p><p id="storage"></p><p id="other"></p>
<a id="next" href="/page?n=2">next</a>
<script>
  localStorage.setItem('mine', localStorage.getItem('mine') ?? '${name}');
  document.getElementById('cookie').textContent = document.cookie;
  document.getElementById('storage').textContent = localStorage.getItem('mine');
  let other = 'no-parent-access';
  try { other = String(window.parent.document.title); } catch (e) { other = e.name; }
  document.getElementById('other').textContent = other;
</script></body></html>`;
}

/** Each on its own loopback address: cookies ignore ports, so two ports would be one site. */
async function startSite(name: string, host: string): Promise<Site> {
  const cookies: string[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    cookies.push(req.headers.cookie ?? '');
    const headers: Record<string, string | string[]> = { 'content-type': 'text/html' };
    if (req.url === '/')
      headers['set-cookie'] = [`${name}=1; Path=/`, `${name}-secret=2; Path=/; HttpOnly`];
    res.writeHead(200, headers).end(page(name));
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    name,
    url: `http://${host}:${port}/`,
    cookies,
    close: () => server.close(),
  };
}

let stack: SiteStack;
let volunteer: Volunteer;
let chromium: LaunchedChromium;
let alpha: Site;
let beta: Site;

beforeAll(async () => {
  alpha = await startSite('alpha', '127.0.0.2');
  beta = await startSite('beta', '127.0.0.3');
  stack = await startSiteStack({
    allow: [new URL(alpha.url).host, new URL(beta.url).host],
  });
  volunteer = new Volunteer({
    signaling: `${stack.url}/signal/`,
    kind: 'node',
    iceServers: [],
    slots: 4,
  });
  await volunteer.start();
  chromium = await launchChromium();
});

afterAll(async () => {
  await chromium?.close();
  await volunteer?.stop();
  await stack?.close();
  alpha?.close();
  beta?.close();
});

async function openHub(): Promise<Page> {
  const hub = await chromium.context.newPage();
  await hub.goto(`${stack.url}/browse/`);
  await expect.poll(() => hub.textContent('#bu-volunteers'), { timeout: 30_000 }).not.toBe('0');
  return hub;
}

async function open(hub: Page, url: string, name: string): Promise<Frame> {
  await hub.fill('#bu-url', url);
  await hub.click('#bu-address button[type=submit]');
  await expect
    .poll(() => hub.frameLocator('#bu-frame').locator('#name').textContent(), { timeout: 20_000 })
    .toBe(name);
  const frame = hub.frames().find((f) => f !== hub.mainFrame() && f.url().includes('.localhost:'));
  if (!frame) throw new Error('no site frame');
  return frame;
}

const text = (frame: Frame, id: string): Promise<string | null> =>
  frame.locator(`#${id}`).textContent();

describe('one origin per site', () => {
  it('keeps two sites’ cookies and storage apart, and the hub out of reach', async () => {
    const hub = await openHub();
    const a = await open(hub, alpha.url, 'alpha');
    const aOrigin = new URL(a.url()).origin;
    expect(aOrigin).toMatch(/^http:\/\/[a-z2-7]{26}\.localhost:\d+$/);
    expect(aOrigin).not.toBe(new URL(stack.url).origin);
    // The page cannot touch the hub: another origin.
    expect(await text(a, 'other')).toBe('SecurityError');

    // Cookies: the plain one is visible to scripts once set; the HttpOnly one never is.
    await a.locator('#next').click();
    await expect.poll(() => text(a, 'cookie')).toBe('alpha=1');
    expect(await text(a, 'storage')).toBe('alpha');
    expect(alpha.cookies.at(-1)).toBe('alpha=1; alpha-secret=2');

    const b = await open(hub, beta.url, 'beta');
    const bOrigin = new URL(b.url()).origin;
    expect(bOrigin).not.toBe(aOrigin);
    await b.locator('#next').click();
    await expect.poll(() => text(b, 'cookie')).toBe('beta=1');
    expect(await text(b, 'storage')).toBe('beta');
    expect(beta.cookies.every((cookie) => !cookie.includes('alpha'))).toBe(true);

    // A script's cookie write reaches its own site, and only there.
    await b.evaluate(() => {
      document.cookie = 'written=yes; path=/';
    });
    await b.locator('#next').click();
    await expect.poll(() => beta.cookies.at(-1)).toContain('written=yes');
    // (and the page it asked for is the one showing before the next script runs in it)
    await expect.poll(() => text(b, 'cookie')).toContain('written=yes');
    expect(alpha.cookies.every((cookie) => !cookie.includes('written'))).toBe(true);
    // A script cannot make an HttpOnly cookie.
    await b.evaluate(() => {
      document.cookie = 'sneaky=1; HttpOnly';
    });
    await b.locator('#next').click();
    await expect.poll(() => beta.cookies.length).toBeGreaterThan(3);
    expect(beta.cookies.at(-1)).not.toContain('sneaky');

    // Back to alpha, and a reload: its storage and cookies are still its own.
    const again = await open(hub, `${alpha.url}page`, 'alpha');
    expect(new URL(again.url()).origin).toBe(aOrigin);
    await hub.click('#bu-reload');
    await expect
      .poll(() => hub.frameLocator('#bu-frame').locator('#storage').textContent(), {
        timeout: 20_000,
      })
      .toBe('alpha');
    const reloaded = hub.frames().find((f) => f.url().startsWith(aOrigin));
    expect(await reloaded?.locator('#cookie').textContent()).toBe('alpha=1');
    await hub.close();
  });

  it('shows another site in its own origin when a page navigates there', async () => {
    const hub = await openHub();
    const a = await open(hub, alpha.url, 'alpha');
    const aOrigin = new URL(a.url()).origin;
    await a.evaluate((to) => {
      location.href = to;
    }, beta.url);
    await expect
      .poll(() => hub.frameLocator('#bu-frame').locator('#name').textContent(), {
        timeout: 20_000,
      })
      .toBe('beta');
    const b = hub.frames().find((f) => f !== hub.mainFrame() && f.url().includes('.localhost:'));
    expect(b && new URL(b.url()).origin).not.toBe(aOrigin);
    await expect.poll(() => hub.inputValue('#bu-url')).toBe(beta.url);
    await hub.close();
  });
});
