/**
 * A hostile page in /browse/: a proxied page (the hostile origin of hostile-site.ts, through a
 * real Node volunteer and the egress) tries every escape we know (fixtures/hostile-escapes.ts),
 * in Chromium, and for each one this suite asks the network, not the page, whether it got out:
 *
 * - the origin witnesses record which process opened every TCP connection they accept, and
 *   each escape aims at two origins of its own: `a-ID`, which the egress may reach, and `f-ID`,
 *   which it may not. A connection from the browser (or any of its children) to any witness,
 *   and any connection at all to an `f-` origin, is a leak, named by the origin it reached;
 * - each escape has a UDP listener of its own on 127.0.0.1, named as its STUN server (and its
 *   WebTransport server): any datagram to it is a leak;
 * - a tab the escape made the browser open is a leak unless it is a Browse tab.
 *
 * Controls first show that these detectors do see a browser that is not behind Browse. The
 * page's own view of each attempt (an error's name, the CSP violations its documents saw) is
 * printed in a table at the end. Chromium runs with hyperlink auditing and its popup blocker
 * on, as a user's browser has them (Playwright turns both off by default); each escape runs as
 * if the user had just clicked the page (Playwright's evaluate carries a user gesture), which
 * any page can arrange.
 */
import { createSocket, type Socket } from 'node:dgram';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  type Request,
} from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Volunteer } from '../../mesh/volunteer.ts';
import { siteOriginFor } from '../../protocol/site-origins.ts';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './chromium.ts';
import type { EscapeId, EscapeTargets, HostileApi, Outcome } from './fixtures/hostile-escapes.ts';
import { isForbidden, startHostileSites, type HostileSites } from './hostile-site.ts';
import {
  assertOnlyFromEgress,
  classifyConnection,
  describeConnection,
  startWitnessOrigins,
  type ProcessRoles,
  type WitnessOrigins,
} from './origin-witness.ts';
import { SITE_DIR, startSiteStack, type SiteStack } from './site-stack.ts';
import { findChromiumBrowser } from './socket-owner.ts';

Object.assign(globalThis, { RTCPeerConnection, RTCSessionDescription, RTCIceCandidate, WebSocket });

/** Every escape, with what it tries (the ids are fixtures/hostile-escapes.ts's). */
const ESCAPES: Readonly<Record<EscapeId, string>> = {
  'read-hub-dom': 'reading the hub’s DOM, address bar, status, location, cookie, localStorage',
  'inject-into-hub': 'putting a <script> or an <img> into the hub; eval, Function of its realm',
  'hub-network': 'fetch, XHR, Image, sendBeacon, open of the hub’s realm (parent.fetch…)',
  'top-navigation': 'top.location = / replace / assign an absolute URL, javascript:',
  'top-link-and-form': 'a target=_top link and form to an absolute URL',
  'hub-cookie-jar': 'opening the hub’s cookie jar (IndexedDB bu-cookies) and localStorage',
  'victim-storage': 'the other site’s cookies, localStorage, IndexedDB, its page in a frame',
  'victim-with-cookies': 'the other site’s logged-in page, fetched by the hostile page',
  'forged-port': 'a bu-port message claiming the other site’s origin',
  'forged-cookie': 'a bu-cookie message for the other site (and one with its Domain)',
  'forged-location': 'bu-location and bu-site-hello messages naming the other site',
  'own-location': 'a bu-location message naming itself (control)',
  'forged-open': 'bu-open messages, three of them on one user gesture',
  fetch: 'fetch(absolute URL)',
  'fetch-fresh-realm': 'fetch of a fresh same-origin frame’s realm',
  xhr: 'XMLHttpRequest',
  'xhr-fresh-realm': 'XMLHttpRequest of a fresh realm',
  img: '<img>.src',
  'img-markup': '<img> put in with innerHTML',
  'img-fresh-realm-setter': 'a fresh realm’s HTMLImageElement.src setter',
  'img-fresh-realm-setattribute': 'a fresh realm’s setAttribute("src")',
  'img-srcset': '<img>.srcset',
  'url-assembled-in-fresh-realm': 'a URL assembled and used in a fresh realm',
  'css-url': 'CSS url() in an inline style',
  'css-import': 'CSS @import',
  'css-image-set': 'CSS image-set()',
  'css-font-face': 'CSS @font-face',
  'css-constructed-sheet': 'a constructed, adopted style sheet',
  beacon: 'navigator.sendBeacon',
  'beacon-fresh-realm': 'sendBeacon of a fresh realm',
  'link-prefetch': '<link rel=prefetch> put in as markup',
  'link-preconnect': '<link rel=preconnect> put in as markup',
  'link-dns-prefetch': '<link rel=dns-prefetch> put in as markup',
  'link-preload': '<link rel=preload> put in as markup',
  'link-modulepreload': '<link rel=modulepreload> put in as markup',
  'link-stylesheet': '<link rel=stylesheet> put in as markup',
  'link-preconnect-fresh-realm': '<link rel=preconnect> in a fresh realm’s document',
  'speculation-rules': 'speculation rules (prefetch, prerender)',
  websocket: 'new WebSocket(ws://…)',
  'websocket-fresh-realm': 'WebSocket of a fresh realm',
  eventsource: 'new EventSource(absolute URL)',
  'eventsource-fresh-realm': 'EventSource of a fresh realm',
  'worker-blob': 'a blob: Worker that fetches, XHRs, importScripts',
  'worker-data': 'a data: Worker',
  'worker-module-import': 'a blob: module Worker with import()',
  'shared-worker-blob': 'a blob: SharedWorker',
  'shared-worker-data': 'a data: SharedWorker',
  'dynamic-import': 'import(absolute URL)',
  'script-fresh-realm-setter': '<script>.src through a fresh realm’s setter',
  'form-post-to-frame': 'a form posted to an absolute action',
  'window-open': 'window.open(absolute URL)',
  'window-open-fresh-realm': 'a fresh realm’s native window.open',
  'nested-frame-navigation': 'a nested frame’s location = absolute URL',
  'nested-frame-reopened-navigation':
    'a nested frame’s location.replace(absolute URL) after document.open',
  'parent-sets-frame-location': 'frame window’s location = absolute URL, set from the page',
  'attribute-node-frame-src': 'a frame’s src through an Attr node (value, nodeValue, attached)',
  'attribute-node-link-into-frame': 'a link whose href is set through an Attr node, into a frame',
  'nested-meta-refresh': 'a nested frame’s <meta http-equiv=refresh>',
  'iframe-src': '<iframe src=absolute URL> put in as markup',
  'srcdoc-frame': 'an <iframe srcdoc> whose script fetches, XHRs, beacons, loads an image',
  'blob-frame': 'a blob: document whose script does the same',
  'data-frame': 'a data: document whose script does the same',
  'sandboxed-srcdoc-frame': 'a sandboxed (opaque-origin) srcdoc whose script does the same',
  'a-ping': '<a ping> clicked',
  'a-download': '<a download href=absolute URL> clicked',
  media: '<video>, <audio>, <source>, <track>, poster',
  'object-embed': '<object data>, <embed src>',
  'base-href': '<base href> put in at run time',
  'svg-image': 'SVG <image>, <feImage>, <use>, setAttribute on SVG',
  'set-html-unsafe': 'Element.setHTMLUnsafe',
  'fetch-later': 'fetchLater',
  webtransport: 'WebTransport (UDP)',
  'payment-request': 'PaymentRequest with a URL payment method',
  'markup-page': 'a page with raw absolute URLs all through its markup',
  'location-href': 'location.href = absolute URL (the runtime sends it through Browse)',
  'meta-refresh': '<meta http-equiv=refresh> put in the page’s head at run time',
  'location-sabotaged-runtime': 'location = absolute URL, with the runtime’s listener broken',
  'rtc-navigate-self-blob': 'location = a blob: document that makes a peer connection',
  'rtc-navigate-self-data': 'location = a data: document that makes a peer connection',
  'rtc-page': 'new RTCPeerConnection in the page',
  'rtc-webkit-prefix': 'webkitRTCPeerConnection',
  'rtc-frames-index': 'frames[n].RTCPeerConnection of an appended frame',
  'rtc-content-window': 'iframe.contentWindow.RTCPeerConnection',
  'rtc-innerhtml-frame': 'a frame put in with innerHTML',
  'rtc-text-node-after': 'a frame put in with Text.prototype.after()',
  'rtc-fresh-realm-append': 'a frame put in with another realm’s appendChild',
  'rtc-exec-command': 'a frame put in with execCommand("insertHTML")',
  'rtc-frame-document-open': 'document.open/write in a frame',
  'rtc-srcdoc-script': 'an <iframe srcdoc> document’s own script',
  'rtc-srcdoc-renavigated': 'srcdoc set on a frame already in the document',
  'rtc-blob-document': 'a blob: document’s own script',
  'rtc-blob-renavigated': 'a frame already in the document sent to a blob: document',
  'rtc-data-document': 'a data: document’s own script',
  'rtc-sandboxed-srcdoc': 'a sandboxed (opaque-origin) srcdoc’s own script',
  'rtc-popup': 'a popup from a fresh realm’s window.open',
  'shell-caches': 'caches.open/put of /browse/index.html, service workers for the hub',
  'hog-the-hub':
    'held streams, refused requests, message floods, a busy loop behind a beforeunload listener',
};

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `read` until `done` holds (expect.poll cannot run in hooks); throws after `ms`. */
async function until<T>(
  what: string,
  read: () => Promise<T>,
  done: (value: T) => boolean,
  ms = 30_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read().catch(() => undefined);
    if (value !== undefined && done(value)) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what} (last: ${String(value)})`);
    }
    await sleep(100);
  }
}

/** Until the page's hub has a volunteer. */
const connected = (page: Page): Promise<unknown> =>
  until(
    'a volunteer',
    () => page.textContent('#bu-volunteers'),
    (n) => n !== null && n !== '0',
  );

// ---- the UDP listener: a "STUN server" nobody may reach ---------------------------------------

interface Datagram {
  readonly from: string;
  readonly bytes: number;
  /** A STUN message (RFC 5389 magic cookie at offset 4): a binding request from ICE. */
  readonly stun: boolean;
}

interface UdpListener {
  readonly port: number;
  readonly datagrams: readonly Datagram[];
  close(): Promise<void>;
}

async function udpListener(): Promise<UdpListener> {
  const socket: Socket = createSocket('udp4');
  const datagrams: Datagram[] = [];
  socket.on('message', (message, from) => {
    datagrams.push({
      from: `${from.address}:${from.port}`,
      bytes: message.length,
      stun: message.length >= 20 && message.readUInt32BE(4) === 0x2112a442,
    });
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    port: socket.address().port,
    datagrams,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

// ---- the stack -----------------------------------------------------------------------------

let sites: HostileSites;
let stack: SiteStack;
let volunteer: Volunteer;
let context: BrowserContext;
let userDataDir: string;
let roles: ProcessRoles;
let hub: Page;
let hubUrl: string;
let hostileSite: string;
let victimSite: string;

/** What each escape's page saw and what the network saw, for the table at the end. */
const report = new Map<string, { outcome: Outcome; leaks: readonly string[] }>();

/**
 * Boot pages that stayed at "Opening…" (sw/site-boot.ts never went on to the page). The cause
 * found so far, Chromium's register() queued behind a hung update check, is avoided in
 * site-boot.ts; should one happen again, the user's way out (Reload) is tried, and what
 * surrounded it (the hub's unanswered requests and console, the workers and their windows, the
 * egress's counters) is printed with the report and in the failure.
 */
const stalls: string[] = [];

beforeAll(async () => {
  sites = await startHostileSites(Object.keys(ESCAPES));
  stack = await startSiteStack({ allow: [...sites.allow] });
  const template = `http://{label}.localhost:${new URL(stack.url).port}`;
  hostileSite = siteOriginFor({ template }, sites.hostile.http);
  victimSite = siteOriginFor({ template }, sites.victim.http);
  volunteer = new Volunteer({
    signaling: `${stack.url}/signal/`,
    kind: 'node',
    iceServers: [],
    slots: 8,
  });
  await volunteer.start();
  userDataDir = await mkdtemp(join(tmpdir(), 'bu-chromium-'));
  context = await playwright.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    ignoreDefaultArgs: ['--disable-pings', '--disable-popup-blocking'],
  });
  roles = { egress: process.pid, browser: findChromiumBrowser({ userDataDir }).pid };
  hub = await context.newPage();
  watchHub(hub);
  // A fresh profile: the hub comes from the network, with its own policy (cli/hub-page.ts).
  hubUrl = `${stack.url}/browse/`;
  await hub.goto(hubUrl);
  await connected(hub);
  // The user is logged in to the victim, which keeps things in its storage.
  await show(`${sites.victim.http}/`, '#ready:text("ready")');
});

afterAll(async () => {
  const lines = [...report].map(([id, { outcome, leaks }]) => {
    const seen = Object.entries(outcome)
      .map(([key, value]) => `${key}: ${value}`)
      .join('; ');
    const verdict = leaks.length === 0 ? 'held  ' : 'LEAKED';
    return `${verdict} ${id.padEnd(29)} ${seen}${leaks.map((leak) => `\n         ${leak}`).join('')}`;
  });
  if (lines.length > 0) console.log(`hostile page, escape by escape:\n${lines.join('\n')}`);
  if (stalls.length > 0) {
    console.log(`boot pages that stalled (Reload pressed):\n  ${stalls.join('\n  ')}`);
  }
  await context?.close();
  if (userDataDir !== undefined) await rm(userDataDir, { recursive: true, force: true });
  await volunteer?.stop();
  await stack?.close();
  await sites?.close();
});

/** The hub's requests to site origins still waiting for an answer, and the console lines. */
const pending = new Map<Request, number>();
const consoleLines: string[] = [];

function watchHub(page: Page): void {
  page.on('request', (request) => {
    if (request.url().includes('.localhost:')) pending.set(request, Date.now());
  });
  const done = (request: Request): void => void pending.delete(request);
  page.on('requestfinished', done);
  page.on('requestfailed', done);
  page.on('console', (message) => {
    consoleLines.push(`${message.type()}: ${message.text()}`.slice(0, 300));
    if (consoleLines.length > 40) consoleLines.shift();
  });
}

/**
 * What a stalled boot page had around it, printed with the report: the hub's unanswered
 * requests, its console, the site origins' workers and their windows, the egress's counters.
 */
async function stallState(): Promise<string[]> {
  const lines: string[] = [];
  const now = Date.now();
  for (const [request, since] of pending) {
    lines.push(`pending ${request.method()} ${request.url()} for ${now - since} ms`);
  }
  lines.push(...consoleLines.map((line) => `console ${line}`));
  for (const worker of context.serviceWorkers()) {
    const windows = await worker
      .evaluate(async (): Promise<string[]> => {
        interface Client {
          readonly url: string;
          readonly frameType: string;
          readonly visibilityState: string;
        }
        const scope = self as unknown as {
          clients: { matchAll(options: object): Promise<Client[]> };
        };
        const all = await scope.clients.matchAll({ type: 'window', includeUncontrolled: true });
        return all.map((c) => `${c.url} (${c.frameType}, ${c.visibilityState})`);
      })
      .catch((error: unknown) => [`unreadable: ${String(error)}`]);
    lines.push(
      `worker ${worker.url()}: ${windows.length} windows`,
      ...windows.map((w) => `  ${w}`),
    );
  }
  const metrics = await fetch(`${stack.egress.url}metrics`)
    .then((response) => response.text())
    .catch(() => '');
  lines.push(
    ...metrics
      .split('\n')
      .filter((line) => /^bu_egress_(connections_open|streams_open|stream_closes)/.test(line)),
  );
  return lines;
}

/** The hub's frame (the site origin's window), if it has one. */
async function siteFrame(): Promise<Frame | null> {
  const element = await hub.$('#bu-frame');
  return element === null ? null : element.contentFrame();
}

/** Opens `url` from the hub's address bar and waits for `selector` in its frame. */
async function show(url: string, selector: string): Promise<Frame> {
  await hub.fill('#bu-url', url);
  await hub.click('#bu-address button[type=submit]');
  const appears = (ms: number): Promise<number> =>
    until(
      `${selector} at ${url}`,
      () => hub.frameLocator('#bu-frame').locator(selector).count(),
      (n) => n > 0,
      ms,
    );
  let state: string[] = [];
  try {
    await appears(10_000).catch(async (error: unknown) => {
      const frame = await siteFrame();
      const text = await frame?.textContent('body').catch(() => null);
      if (frame?.url().includes('/~bu/boot?') !== true || text?.trim() !== 'Opening…') throw error;
      stalls.push(`${url}: the boot page was still at "Opening…" after 10 s`);
      state = await stallState();
      stalls.push(...state.map((line) => `    ${line}`));
      await hub.click('#bu-reload');
      await appears(20_000);
    });
  } catch (error) {
    const frame = await siteFrame();
    const text = await frame?.textContent('body').catch(() => null);
    if (state.length > 0) state.push('after Reload:', ...(await stallState()));
    throw new Error(
      `${error instanceof Error ? error.message : String(error)}; the frame is at ${
        frame?.url() ?? 'nothing'
      }: ${JSON.stringify(text?.slice(0, 300))}${state.map((line) => `\n    ${line}`).join('')}`,
    );
  }
  const frame = await siteFrame();
  if (frame === null) throw new Error('the hub has no frame');
  return frame;
}

/** The hostile page in the hub's frame, opened again if an escape took it (or the hub) away. */
async function hostilePage(): Promise<Frame> {
  if (!hub.url().startsWith(hubUrl)) {
    // A fresh load from the network (a query the shell's precache does not match).
    await hub.goto(`${hubUrl}?again=${Date.now()}`);
    await connected(hub);
  }
  const frame = await siteFrame();
  const ready =
    frame !== null &&
    frame.url().startsWith(`${hostileSite}/`) &&
    (await frame
      .evaluate(() => document.documentElement.dataset['hostile'] === 'ready')
      .catch(() => false));
  if (ready) return frame;
  return show(`${sites.hostile.http}/`, 'html[data-hostile="ready"]');
}

function targetsFor(id: EscapeId, udp: number): EscapeTargets {
  const { forbidden, allowed } = sites.targets(id);
  return {
    forbidden: `${forbidden.http}/leak?case=${id}`,
    allowed: `${allowed.http}/leak?case=${id}`,
    forbiddenWs: `${forbidden.ws}?case=${id}`,
    allowedWs: `${allowed.ws}?case=${id}`,
    forbiddenEvents: `${forbidden.events}?case=${id}`,
    allowedEvents: `${allowed.events}?case=${id}`,
    stun: `stun:127.0.0.1:${udp}`,
    quic: `https://127.0.0.1:${udp}/`,
    hub: new URL(stack.url).origin,
    self: sites.hostile.http,
    victim: sites.victim.http,
    victimSite,
  };
}

interface Mark {
  readonly connection: number;
  readonly requests: number;
}

/** Where each witness's records stood before an escape. */
function marks(): [Mark, Mark] {
  const mark = (w: WitnessOrigins): Mark => ({
    connection: w.connections().at(-1)?.id ?? 0,
    requests: w.requests().length,
  });
  return [mark(sites.witness), mark(sites.victimWitness)];
}

/**
 * Every leak of escape `id` since `mark`: a connection from anyone but the egress (or a request
 * on one: a browser's kept-alive socket could carry a new request), any connection at all to a
 * forbidden origin, any datagram to the UDP listener. Origins of other escapes are left to
 * the last test, so that a late leak is not charged to the wrong escape.
 */
function leaksSince(id: EscapeId, mark: [Mark, Mark], udp: UdpListener): string[] {
  const ours = (origin: string): boolean =>
    !/^[af]-/.test(origin) || origin === `a-${id}` || origin === `f-${id}`;
  const out: string[] = [];
  const witnesses: Array<[WitnessOrigins, Mark]> = [
    [sites.witness, mark[0]],
    [sites.victimWitness, mark[1]],
  ];
  for (const [witness, since] of witnesses) {
    const requests = witness.requests();
    const fresh = witness.connections().filter((c) => c.id > since.connection);
    const reused = requests
      .slice(since.requests)
      .map((r) => r.connection)
      .filter((c) => c.id <= since.connection);
    const all = [...fresh, ...new Map(reused.map((c) => [c.id, c])).values()];
    for (const connection of all.filter((c) => ours(c.origin))) {
      const source = classifyConnection(connection, roles);
      const described = describeConnection(connection, requests);
      if (source !== 'egress') out.push(`${source}: ${described}`);
      else if (isForbidden(connection.origin)) {
        out.push(`the egress reached a forbidden origin: ${described}`);
      }
    }
  }
  for (const datagram of udp.datagrams) {
    out.push(
      `UDP: ${datagram.bytes} bytes from ${datagram.from} to the escape's listener${
        datagram.stun ? ' (a STUN binding request)' : ''
      }`,
    );
  }
  return out;
}

/**
 * Runs one escape in the hostile page. Returns what the page saw and every leak: what the
 * witnesses and the UDP listener saw, and any tab the browser opened that is not Browse.
 */
async function tryEscape(id: EscapeId): Promise<{ outcome: Outcome; leaks: string[] }> {
  const frame = await hostilePage();
  const udp = await udpListener();
  const mark = marks();
  const pages = new Set(context.pages());
  let outcome: Outcome;
  try {
    outcome = await frame.evaluate(
      ([escape, targets]) =>
        (window as unknown as { hostile: HostileApi }).hostile.run(escape, targets),
      [id, targetsFor(id, udp.port)] as const,
    );
  } catch (error) {
    const message = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
    outcome = { page: `went away (${message})` };
    await sleep(1_500);
  }
  await sleep(300);
  const leaks = leaksSince(id, mark, udp);
  await udp.close();
  const opened = context.pages().filter((page) => !pages.has(page));
  const tabs = opened.map((page) => page.url());
  await Promise.all(opened.map((page) => page.close()));
  if (tabs.length > 0) outcome = { ...outcome, 'tabs opened': tabs.join(' ') };
  for (const url of tabs) {
    if (!url.startsWith(`${hubUrl}?go=`)) leaks.push(`a tab that is not Browse: ${url}`);
  }
  report.set(id, { outcome, leaks });
  return { outcome, leaks };
}

const shown = (id: string, outcome: Outcome): string =>
  `${id}: the page saw ${JSON.stringify(outcome)}`;

/** Every attempt in the outcome was refused with `name`. */
function allRefused(name: string) {
  return (outcome: Outcome): void => {
    for (const [key, value] of Object.entries(outcome)) {
      if (key !== 'csp') expect(value, key).toBe(name);
    }
  };
}

/**
 * Escapes that still get out, each a test that is expected to fail (`it.fails`), so that the
 * suite stays green while a gap is open and turns red the day it closes (then move the id out
 * of here). None is open today; docs/architecture.md, "Site origins", says what the runtime
 * relies on (Chromium opens a TCP connection, with no request, for a navigation that CSP then
 * blocks, so navigations must be caught before they start).
 */
const KNOWN_LEAKS: ReadonlySet<EscapeId> = new Set<EscapeId>([]);

/** One `it` per escape: nothing leaked, and `checks[id]` on what the page saw. */
function escapes(
  ids: readonly EscapeId[],
  checks: Partial<Record<EscapeId, (outcome: Outcome) => void>> = {},
): void {
  for (const id of ids) {
    (KNOWN_LEAKS.has(id) ? it.fails : it)(`${ESCAPES[id]} [${id}]`, async () => {
      const { outcome, leaks } = await tryEscape(id);
      expect(leaks, shown(id, outcome)).toEqual([]);
      checks[id]?.(outcome);
    });
  }
}

/** `it` for an escape whose test needs more than the common checks. */
function escape(id: EscapeId, test: () => Promise<void>): void {
  it(`${ESCAPES[id]} [${id}]`, test);
}

async function expectHeld(id: EscapeId): Promise<Outcome> {
  const { outcome, leaks } = await tryEscape(id);
  expect(leaks, shown(id, outcome)).toEqual([]);
  return outcome;
}

// ---- the suite -------------------------------------------------------------------------------

describe('controls: the detectors see a browser that is not behind Browse', () => {
  it('an origin loaded directly is reached by the browser, and the witness says so', async () => {
    const control = await startWitnessOrigins();
    const page = await context.newPage();
    try {
      await page.goto(`${control.http}/`);
      expect(await page.textContent('#witness')).toBe('witness');
      expect(() => assertOnlyFromEgress(control, roles)).toThrow(/browser: #\d+ http:\/\/main/);
    } finally {
      await page.close();
      await control.close();
    }
  });

  it('a peer connection outside Browse sends STUN to the listener', async () => {
    const udp = await udpListener();
    const page = await context.newPage();
    try {
      await page.evaluate(async (stun) => {
        const pc = new window.RTCPeerConnection({ iceServers: [{ urls: stun }] });
        pc.createDataChannel('x');
        await pc.setLocalDescription(await pc.createOffer());
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        pc.close();
      }, `stun:127.0.0.1:${udp.port}`);
      expect(udp.datagrams.filter((d) => d.stun).length).toBeGreaterThan(0);
    } finally {
      await page.close();
      await udp.close();
    }
  });

  it('the victim is logged in: its own page gets its cookies, HttpOnly included', async () => {
    await show(`${sites.victim.http}/account?from=victim-self`, '#state');
    const own = sites.cookies.filter((c) => c.path === '/account?from=victim-self');
    expect(own.map((c) => c.cookie)).toEqual(['victim=1; victim-secret=2']);
  });

  it('the hostile page runs in its own site origin, after the runtime', async () => {
    const frame = await hostilePage();
    expect(new URL(frame.url()).origin).toBe(hostileSite);
    const runtime = await frame.evaluate(
      () => document.querySelector('script[data-proxied]') !== null,
    );
    expect(runtime).toBe(true);
  });
});

describe('the hub is out of reach (window.parent, window.top)', () => {
  escapes(['read-hub-dom', 'inject-into-hub', 'hub-network'], {
    'read-hub-dom': allRefused('SecurityError'),
    'inject-into-hub': allRefused('SecurityError'),
    'hub-network': allRefused('SecurityError'),
  });

  for (const id of ['top-navigation', 'top-link-and-form'] as const) {
    escape(id, async () => {
      await expectHeld(id);
      expect(hub.url()).toBe(hubUrl);
    });
  }

  escape('hub-cookie-jar', async () => {
    const outcome = await expectHeld('hub-cookie-jar');
    expect(outcome['databasesBefore']).not.toContain('bu-cookies');
    expect(outcome['open bu-cookies']).toBe('created empty; stores []');
    expect(outcome['cookie']).not.toContain('victim');
    expect(outcome['localStorage']).toBe('keys []');
  });
});

describe('another proxied site is out of reach', () => {
  escape('victim-storage', async () => {
    const outcome = await expectHeld('victim-storage');
    expect(outcome['cookie']).toBe('value ""');
    expect(outcome['localStorage']).toBe('value null');
    expect(outcome['databases']).not.toContain('victim-db');
    expect(outcome['framed victim document']).toBe('SecurityError');
    expect(outcome['framed victim cookie']).toBe('SecurityError');
    expect(outcome['framed victim localStorage']).toBe('SecurityError');
  });

  escape('victim-with-cookies', async () => {
    await expectHeld('victim-with-cookies');
    // (hostile-frame is the victim's page framed by victim-storage: in its own origin.)
    const asked = (): typeof sites.cookies =>
      sites.cookies.filter(
        (c) => c.path.includes('from=hostile-') && !c.path.includes('from=hostile-frame'),
      );
    // They went through the proxy (the victim is allowed): proof that the question was asked.
    // (The image may still be on its way when the page has given up on it.)
    await expect.poll(() => asked().length, { timeout: 10_000 }).toBe(4);
    expect(
      asked()
        .map((c) => c.path)
        .sort(),
    ).toEqual([
      '/account?from=hostile-fetch',
      '/account?from=hostile-img',
      '/account?from=hostile-path',
      '/account?from=hostile-xhr',
    ]);
    expect(asked().filter((c) => c.cookie !== '')).toEqual([]);
  });

  escape('forged-port', async () => {
    const outcome = await expectHeld('forged-port');
    expect(outcome['port for the victim']).toBe('silent');
    // The same message for its own origin is answered: the hub did hear the page.
    expect(outcome['port for itself (control)']).toBe('ready');
    expect(outcome['victim page on own port']).toBe('status 200');
    const victim = sites.cookies.filter((c) => /from=(own|forged)-port/.test(c.path));
    expect(victim).toEqual([{ site: 'victim', path: '/account?from=own-port', cookie: '' }]);
  });

  escape('forged-cookie', async () => {
    await expectHeld('forged-cookie');
    // Its own cookie write did reach the jar (the control)…
    const own = sites.cookies.filter((c) => c.path === '/account?from=own-cookie-check');
    expect(own.map((c) => c.cookie.split('; ').includes('own-cookie=1'))).toEqual([true]);
    // …and the victim's own page still gets exactly its own cookies.
    await show(`${sites.victim.http}/account?from=victim-after-forgery`, '#state');
    const after = sites.cookies.filter((c) => c.path === '/account?from=victim-after-forgery');
    expect(after.map((c) => c.cookie)).toEqual(['victim=1; victim-secret=2']);
  });

  escape('forged-location', async () => {
    await expectHeld('forged-location');
    expect(await hub.inputValue('#bu-url')).toBe(`${sites.hostile.http}/`);
    expect(await hub.title()).not.toContain('Victim');
    // The control: the same message naming its own origin does reach the address bar.
    await expectHeld('own-location');
    expect(await hub.inputValue('#bu-url')).toBe(`${sites.hostile.http}/spoofed`);
  });

  escape('forged-open', async () => {
    const outcome = await expectHeld('forged-open');
    // Each is a Browse tab (tryEscape counts any other tab as a leak), one per gesture: the
    // hub's window.open is a popup, and the browser's blocker lets one through per gesture.
    expect(outcome['tabs opened']?.split(' ').length ?? 0).toBeLessThanOrEqual(1);
  });
});

describe('the page cannot make the browser reach the network', () => {
  escapes([
    'fetch',
    'fetch-fresh-realm',
    'xhr',
    'xhr-fresh-realm',
    'img',
    'img-markup',
    'img-fresh-realm-setter',
    'img-fresh-realm-setattribute',
    'img-srcset',
    'url-assembled-in-fresh-realm',
    'css-url',
    'css-import',
    'css-image-set',
    'css-font-face',
    'css-constructed-sheet',
    'beacon',
    'beacon-fresh-realm',
    'link-prefetch',
    'link-preconnect',
    'link-dns-prefetch',
    'link-preload',
    'link-modulepreload',
    'link-stylesheet',
    'link-preconnect-fresh-realm',
    'speculation-rules',
    'websocket',
    'websocket-fresh-realm',
    'eventsource',
    'eventsource-fresh-realm',
    'worker-blob',
    'worker-data',
    'worker-module-import',
    'shared-worker-blob',
    'shared-worker-data',
    'dynamic-import',
    'script-fresh-realm-setter',
    'form-post-to-frame',
    'window-open',
    'window-open-fresh-realm',
    'nested-frame-navigation',
    'nested-frame-reopened-navigation',
    'parent-sets-frame-location',
    'attribute-node-frame-src',
    'attribute-node-link-into-frame',
    'nested-meta-refresh',
    'iframe-src',
    'srcdoc-frame',
    'blob-frame',
    'data-frame',
    'sandboxed-srcdoc-frame',
    'a-ping',
    'a-download',
    'media',
    'object-embed',
    'base-href',
    'svg-image',
    'set-html-unsafe',
    'fetch-later',
    'webtransport',
    'payment-request',
    'markup-page',
    // These take the hostile page away (it is opened again for the next escape).
    'location-href',
    'meta-refresh',
    'location-sabotaged-runtime',
    'rtc-navigate-self-blob',
    'rtc-navigate-self-data',
  ]);
});

describe('the page cannot use WebRTC (its STUN server hears nothing)', () => {
  escapes([
    'rtc-page',
    'rtc-webkit-prefix',
    'rtc-frames-index',
    'rtc-content-window',
    'rtc-innerhtml-frame',
    'rtc-text-node-after',
    'rtc-fresh-realm-append',
    'rtc-exec-command',
    'rtc-frame-document-open',
    'rtc-srcdoc-script',
    'rtc-srcdoc-renavigated',
    'rtc-blob-document',
    'rtc-blob-renavigated',
    'rtc-data-document',
    'rtc-sandboxed-srcdoc',
    'rtc-popup',
  ]);
});

describe('the shell', () => {
  escape('shell-caches', async () => {
    const outcome = await expectHeld('shell-caches');
    expect(outcome['caches.keys()']).toBe('value ""');
    expect(outcome['register the hub origin’s worker']).toBe('SecurityError');
    expect(outcome['register /sw.js here']).not.toBe('done');
    expect(outcome['register a blob: worker']).not.toBe('done');

    // A fresh /browse/ (from the hub's own worker now) is the genuine shell, and it works.
    const fresh = await context.newPage();
    try {
      const response = await fresh.goto(hubUrl);
      const genuine = await readFile(join(SITE_DIR, 'browse', 'index.html'), 'utf8');
      expect(await response?.text()).toBe(genuine);
      expect(await fresh.locator('#evil').count()).toBe(0);
      await connected(fresh);
      await fresh.fill('#bu-url', `${sites.benign.http}/`);
      await fresh.click('#bu-address button[type=submit]');
      await until(
        'the benign page in a fresh hub',
        () => fresh.frameLocator('#bu-frame').locator('#name').textContent(),
        (name) => name === 'benign',
      );
    } finally {
      await fresh.close();
    }
  });
});

describe('the hub keeps working', () => {
  escape('hog-the-hub', async () => {
    const outcome = await expectHeld('hog-the-hub');
    await sleep(1_000);
    const started = Date.now();
    await show(`${sites.benign.http}/`, '#name:text("benign")');
    const report_ = report.get('hog-the-hub');
    if (report_ !== undefined) {
      report.set('hog-the-hub', {
        ...report_,
        outcome: { ...outcome, 'benign page after': `${Date.now() - started} ms` },
      });
    }
  });
});

describe('all along', () => {
  it('the origins heard only the egress, and the forbidden ones nobody', () => {
    // Known leaks reach their own escape's origins only (a-ID, f-ID); everything else is clean.
    const known = (origin: string): boolean => KNOWN_LEAKS.has(origin.slice(2) as EscapeId);
    const clean = {
      connections: () => sites.witness.connections().filter((c) => !known(c.origin)),
      requests: () => sites.witness.requests().filter((r) => !known(r.origin)),
    };
    const forbidden = clean.connections().filter((c) => isForbidden(c.origin));
    expect(forbidden.map((c) => describeConnection(c, sites.witness.requests()))).toEqual([]);
    assertOnlyFromEgress(clean, roles);
    assertOnlyFromEgress(sites.victimWitness, roles);
    // And even the known leaks are connections only: the browser sent no request on any.
    const fromBrowser = sites.witness
      .requests()
      .filter((r) => classifyConnection(r.connection, roles) !== 'egress');
    expect(fromBrowser.map((r) => `${r.origin} ${r.method} ${r.path}`)).toEqual([]);
  });
});
