/**
 * The static test sites (test/e2e/static-sites.ts) through /browse/: the hub at the site
 * stack, each site in its own site origin (`<label>.localhost:PORT`), every byte through a real
 * Node volunteer and the egress. Each must render and navigate with the same proofs as when
 * loaded directly (static-sites.e2e.test.ts), the hub's address bar must show the real URL,
 * the browser must ask nothing but the hub's server and the site origins, and the origin
 * witness must have heard only the egress (this process), never Chromium. Screenshots of the
 * hub with each site go to artifacts/screenshots/site/browse-static-<site>-<step>.png (or
 * BU_SCREENSHOTS).
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  RTCIceCandidate,
  RTCPeerConnection,
  RTCSessionDescription,
} from 'node-datachannel/polyfill';
import {
  chromium as playwright,
  type BrowserContext,
  type Frame,
  type Page,
} from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Volunteer } from '../../mesh/volunteer.ts';
import { BOOT_PATH, siteOriginFor } from '../../protocol/site-origins.ts';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './chromium.ts';
import { assertOnlyFromEgress, type WitnessOrigins } from './origin-witness.ts';
import { startSiteStack, type SiteStack } from './site-stack.ts';
import { findChromiumBrowser, type ProcessInfo } from './socket-owner.ts';
import { expectProof, navigate, startStaticSites, type ServedSite } from './static-sites.ts';

Object.assign(globalThis, { RTCPeerConnection, RTCSessionDescription, RTCIceCandidate, WebSocket });

/** Where screenshots go: test artifacts to look at (BU_SCREENSHOTS overrides). */
const SHOTS =
  process.env['BU_SCREENSHOTS'] ??
  fileURLToPath(new URL('../../artifacts/screenshots/site/', import.meta.url));

/** What the witness must have heard (through the egress) for each site: path and query. */
const MUST_HEAR: Readonly<Record<string, readonly string[]>> = {
  mathjax: [
    '/test/examples.html',
    '/test/sample.html',
    '/MathJax.js',
    '/jax/output/HTML-CSS/jax.js?V=2.7.9',
    '/fonts/HTML-CSS/TeX/woff/MathJax_Main-Regular.woff?V=2.7.9',
  ],
  'swagger-ui': [
    '/index.html',
    '/swagger-ui-bundle.js',
    '/swagger-initializer.js',
    '/openapi.json',
    '/api/books',
  ],
  'mdi-font': [
    '/preview.html',
    '/css/materialdesignicons.min.css',
    '/fonts/materialdesignicons-webfont.woff2?v=7.4.47',
  ],
};

let witness: WitnessOrigins;
let sites: ServedSite[];
let stack: SiteStack;
let volunteer: Volunteer;
let context: BrowserContext;
let userDataDir: string;
let browser: ProcessInfo;

beforeAll(async () => {
  ({ witness, sites } = await startStaticSites());
  stack = await startSiteStack({ allow: [...witness.allowAll] });
  volunteer = new Volunteer({
    signaling: `${stack.url}/signal/`,
    kind: 'node',
    iceServers: [],
    slots: 4,
  });
  await volunteer.start();
  userDataDir = await mkdtemp(join(tmpdir(), 'bu-chromium-'));
  context = await playwright.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 860 },
  });
  browser = findChromiumBrowser({ userDataDir });
  await mkdir(SHOTS, { recursive: true });
});

afterAll(async () => {
  await context?.close();
  await volunteer?.stop();
  await stack?.close();
  await witness?.close();
  if (userDataDir !== undefined) await rm(userDataDir, { recursive: true, force: true });
});

/** What the hub page and its frames did, for the assertions and for saying what went wrong. */
interface Observations {
  readonly requests: string[];
  readonly failed: string[];
  readonly pageErrors: string[];
  readonly consoleErrors: string[];
}

function observe(hub: Page): Observations {
  const seen: Observations = { requests: [], failed: [], pageErrors: [], consoleErrors: [] };
  hub.on('request', (request) => seen.requests.push(request.url()));
  hub.on('requestfailed', (request) =>
    seen.failed.push(`${request.url()}: ${request.failure()?.errorText ?? '?'}`),
  );
  hub.on('pageerror', (error) => seen.pageErrors.push(error.message));
  hub.on('console', (message) => {
    if (message.type() === 'error') {
      seen.consoleErrors.push(`${message.location().url}: ${message.text()}`);
    }
  });
  return seen;
}

/** The hub's frame once it shows a page of `siteOrigin` (past the boot page). */
async function siteFrame(hub: Page, siteOrigin: string): Promise<Frame> {
  let found: Frame | undefined;
  await expect
    .poll(
      () => {
        found = hub
          .frames()
          .find(
            (f) =>
              f.parentFrame() === hub.mainFrame() &&
              f.url().startsWith(`${siteOrigin}/`) &&
              !f.url().startsWith(`${siteOrigin}${BOOT_PATH}`),
          );
        return found?.url();
      },
      { timeout: 30_000 },
    )
    .toBeDefined();
  return found!;
}

/** The real URL a page at `frameUrl` on the site origin of `site` shows. */
function realUrlOf(site: ServedSite, frameUrl: string): string {
  const url = new URL(frameUrl);
  return `${site.origin.http}${url.pathname}${url.search}${url.hash}`;
}

async function shoot(hub: Page, site: ServedSite, step: string): Promise<void> {
  await hub.waitForTimeout(300); // let the last paint settle
  await hub.screenshot({ path: join(SHOTS, `browse-static-${site.name}-${step}.png`) });
}

describe('static test sites through /browse/', () => {
  for (const name of ['mathjax', 'swagger-ui', 'mdi-font']) {
    it(`${name}: renders and navigates in its own site origin, through the egress`, async () => {
      const site = sites.find((s) => s.name === name)!;
      const started = Date.now();
      const stackOrigin = new URL(stack.url).origin;
      // As test/e2e/site-stack.ts publishes it (`bu serve`'s loopback default).
      const template = `http://{label}.localhost:${new URL(stack.url).port}`;
      const siteOrigin = siteOriginFor({ template }, site.origin.http);
      const hub = await context.newPage();
      const seen = observe(hub);
      try {
        await hub.goto(`${stack.url}/browse/`);
        await expect
          .poll(() => hub.textContent('#bu-volunteers'), { timeout: 30_000 })
          .not.toBe('0');
        await hub.fill('#bu-url', site.url);
        await hub.press('#bu-url', 'Enter');

        const frame = await siteFrame(hub, siteOrigin);
        await expectProof(frame, site.rendered);
        expect(realUrlOf(site, frame.url())).toBe(site.url);
        await expect.poll(() => hub.inputValue('#bu-url')).toBe(site.url);
        await shoot(hub, site, 'entry');

        await navigate(frame, site.navigation);
        await frame.locator(site.navigation.expect.selector).first().scrollIntoViewIfNeeded();
        const after = realUrlOf(site, frame.url());
        if (site.navigation.expect.url !== undefined) {
          expect(after).toMatch(site.navigation.expect.url);
        }
        await expect.poll(() => hub.inputValue('#bu-url')).toBe(after);
        await shoot(hub, site, 'navigated');

        // The browser asked the hub's server and the site origin, never the site itself.
        const network = seen.requests.filter(
          (url) => !url.startsWith('data:') && !url.startsWith('blob:'),
        );
        expect(
          network.filter(
            (url) => !url.startsWith(`${stackOrigin}/`) && !url.startsWith(`${siteOrigin}/`),
          ),
        ).toEqual([]);
        // Nothing failed or was blocked (a CSP violation is a console error), in hub or frame.
        expect(seen.pageErrors).toEqual([]);
        expect(seen.failed).toEqual([]);
        expect(seen.consoleErrors).toEqual([]);

        // The witness heard the site's files, the API call and the fonts, all from the egress.
        const heard = witness.requests().filter((r) => r.origin === site.name);
        const heardPaths = new Set(heard.map((r) => r.path));
        expect(MUST_HEAR[name]!.filter((path) => !heardPaths.has(path))).toEqual([]);
        const connections = witness.connections().filter((c) => c.origin === site.name);
        expect(connections.length).toBeGreaterThan(0);
        for (const connection of connections) {
          expect(connection.owner?.holders.map((h) => h.process.pid)).toEqual([process.pid]);
        }
        // The egress's client speaks for every user alike: no browser's Sec-Fetch-* headers.
        expect(heard.filter((r) => r.secFetch).map((r) => r.path)).toEqual([]);
        console.log(
          `${site.name} through /browse/: ${heard.length} requests on ${connections.length} egress connections in ${
            Date.now() - started
          } ms`,
        );
      } catch (error) {
        console.log(
          `${site.name}: what the hub saw\n  failed: ${seen.failed.join('\n    ')}\n  page errors: ${seen.pageErrors.join(
            '\n    ',
          )}\n  console errors: ${seen.consoleErrors.join('\n    ')}\n  witness heard: ${witness
            .requests()
            .filter((r) => r.origin === site.name)
            .map((r) => `${r.method} ${r.path}`)
            .join(', ')}`,
        );
        await hub
          .screenshot({ path: join(SHOTS, `browse-static-${site.name}-failed.png`) })
          .catch(() => undefined);
        throw error;
      } finally {
        await hub.close();
      }
    });
  }

  it('no origin heard from Chromium: every connection came from the egress', () => {
    const { connections, requests } = assertOnlyFromEgress(witness, {
      egress: process.pid,
      browser: browser.pid,
      atLeast: 3,
    });
    expect(witness.connectionsFrom(browser.pid)).toEqual([]);
    console.log(`witness: ${connections} connections, ${requests} requests, all from the egress`);
  });
});
