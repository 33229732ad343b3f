/**
 * The static test sites, loaded directly in headless Chromium (not through the proxy): each
 * renders, its navigation works, Chromium asked no host but the site's own origin, and the
 * origin witness attributes every connection to the Chromium we launched (its network service,
 * a child of the browser process). Screenshots go to $TMPDIR/bu-static-sites/.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium as playwright, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './chromium.ts';
import { describeConnection, type WitnessOrigins } from './origin-witness.ts';
import { findChromiumBrowser, switchValue, type ProcessInfo } from './socket-owner.ts';
import { expectProof, navigate, startStaticSites, type ServedSite } from './static-sites.ts';

const SHOTS = join(tmpdir(), 'bu-static-sites');

let witness: WitnessOrigins;
let sites: ServedSite[];
let context: BrowserContext;
let userDataDir: string;
let browser: ProcessInfo;

beforeAll(async () => {
  ({ witness, sites } = await startStaticSites());
  userDataDir = await mkdtemp(join(tmpdir(), 'bu-chromium-'));
  context = await playwright.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    ignoreHTTPSErrors: true, // the witness's HTTPS servers are self-signed
  });
  browser = findChromiumBrowser({ userDataDir });
  await mkdir(SHOTS, { recursive: true });
});

afterAll(async () => {
  await context?.close();
  await witness?.close();
  if (userDataDir !== undefined) await rm(userDataDir, { recursive: true, force: true });
});

/** Asserts that every connection to `origin` came from the browser's process tree, and says whose. */
function expectAllFromBrowser(origin: string): Set<string> {
  const connections = witness.connections().filter((c) => c.origin === origin);
  expect(connections.length).toBeGreaterThan(0);
  const fromBrowser = new Set(witness.connectionsFrom(browser.pid).map((c) => c.id));
  const strays = connections.filter((c) => !fromBrowser.has(c.id));
  expect(strays.map((c) => describeConnection(c, witness.requests()))).toEqual([]);
  // Which of Chromium's processes: the browser itself, or its network service.
  return new Set(
    connections.map((c) => {
      const holder = c.owner!.holders[0]!.process;
      if (holder.pid === browser.pid) return 'browser process';
      return switchValue(holder, '--utility-sub-type') ?? holder.commandLine;
    }),
  );
}

describe('static test sites, directly in Chromium', () => {
  it('finds the Chromium it launched', () => {
    expect(browser.executable).toBe('chromium');
    expect(browser.argv).toContain(`--user-data-dir=${userDataDir}`);
  });

  for (const name of ['mathjax', 'swagger-ui', 'mdi-font']) {
    it(`${name}: renders, navigates, asks only its own origin, all from Chromium`, async () => {
      const site = sites.find((s) => s.name === name)!;
      const started = Date.now();
      const page = await context.newPage();
      const asked: string[] = [];
      const errors: string[] = [];
      page.on('request', (request) => asked.push(request.url()));
      page.on('pageerror', (error) => errors.push(error.message));
      await page.goto(site.url);
      await expectProof(page, site.rendered);
      await page.screenshot({ path: join(SHOTS, `${site.name}-entry.png`) });
      await navigate(page, site.navigation);
      await page.locator(site.navigation.expect.selector).first().scrollIntoViewIfNeeded();
      await page.screenshot({ path: join(SHOTS, `${site.name}-navigated.png`) });
      await page.close();

      const network = asked.filter((url) => !url.startsWith('data:') && !url.startsWith('blob:'));
      expect(network.length).toBeGreaterThan(2);
      expect(network.filter((url) => !url.startsWith(`${site.origin.http}/`))).toEqual([]);
      expect(errors).toEqual([]);

      // The witness heard every one of those requests, each on a connection from Chromium.
      const heard = witness.requests().filter((r) => r.origin === site.name);
      const heardPaths = new Set(heard.map((r) => r.path));
      const askedPaths = network.map((url) => {
        const parsed = new URL(url);
        return `${parsed.pathname}${parsed.search}`;
      });
      expect(askedPaths.filter((path) => !heardPaths.has(path))).toEqual([]);
      for (const request of heard) expect(request.secFetch, request.path).toBe(true);
      const holders = expectAllFromBrowser(site.name);
      // Chromium on Linux runs its network service as a child process; either way, its tree.
      expect(['network.mojom.NetworkService', 'browser process']).toEqual(
        expect.arrayContaining([...holders]),
      );
      const connections = witness.connections().filter((c) => c.origin === site.name);
      const lookups = connections.map((c) => c.attributionMs);
      console.log(
        `${site.name}: ${heard.length} requests on ${connections.length} connections in ${
          Date.now() - started
        } ms; attribution took at most ${Math.max(...lookups).toFixed(1)} ms`,
      );
    });
  }

  it('attributes HTTPS, WebSocket and EventSource connections from Chromium too', async () => {
    const page = await context.newPage();
    await page.goto(`${witness.https}/`);
    expect(await page.textContent('#witness')).toBe('witness');
    const result = await page.evaluate(
      async ({ wss, events }) => {
        const echoed = await new Promise<string>((resolve, reject) => {
          const socket = new WebSocket(wss);
          socket.onopen = () => socket.send('hello');
          socket.onmessage = (event) => {
            resolve(String(event.data));
            socket.close();
          };
          socket.onerror = () => reject(new Error('websocket failed'));
        });
        const event = await new Promise<string>((resolve, reject) => {
          const source = new EventSource(events);
          source.addEventListener('witness', (message) => {
            resolve(message.data as string);
            source.close();
          });
          source.onerror = () => reject(new Error('event source failed'));
        });
        return { echoed, event };
      },
      { wss: witness.wss, events: witness.secureEvents },
    );
    await page.close();
    expect(result).toEqual({ echoed: 'hello', event: 'event 1' });
    const kinds = witness
      .requests()
      .filter((r) => r.origin === 'main')
      .map((r) => `${r.scheme} ${r.kind}`);
    expect(kinds).toEqual(
      expect.arrayContaining(['https http', 'https websocket', 'https event-stream']),
    );
    expectAllFromBrowser('main');
  });
});
