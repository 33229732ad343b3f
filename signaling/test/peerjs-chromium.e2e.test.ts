/**
 * The unmodified `peerjs` client (its browser bundle) in real Chromium against `bu signaling`
 * started as a process, inside scripts/netns-run. The page comes from a second origin, so the
 * id request also exercises CORS.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, type LaunchedChromium } from '../../test/e2e/chromium.ts';
import { startSignalingProcess, type SignalingProcess } from './process.ts';

const HOST = '10.77.0.1';
let signal: SignalingProcess;
let site: Server;
let siteUrl: string;
let browser: LaunchedChromium;

beforeAll(async () => {
  signal = await startSignalingProcess(['--host', HOST, '--no-geoip', '--expire-timeout', '300']);
  const bundle = await readFile(
    new URL('../../node_modules/peerjs/dist/peerjs.min.js', import.meta.url),
  );
  site = createServer((req, res) => {
    if (req.url === '/peerjs.min.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript' });
      res.end(bundle);
    } else {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end('<!doctype html><title>peer</title><script src="/peerjs.min.js"></script>');
    }
  });
  await new Promise<void>((resolve) => site.listen(0, HOST, resolve));
  const address = site.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  siteUrl = `http://${HOST}:${address.port}/`;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser.close();
  await new Promise((resolve) => site.close(resolve));
  await signal.stop();
});

async function newPage(): Promise<Page> {
  const page = await browser.context.newPage();
  await page.goto(siteUrl);
  return page;
}

// The slice of the peerjs browser API the pages use (types only: nothing crosses into the page).
interface BrowserConnection {
  readonly peer: string;
  send(data: unknown): void;
  on(event: 'open', listener: () => void): void;
  on(event: 'data', listener: (data: unknown) => void): void;
}

interface BrowserPeer {
  connect(id: string, options?: { reliable: boolean }): BrowserConnection;
  on(event: 'open', listener: (id: string) => void): void;
  on(event: 'error', listener: (err: { type: string }) => void): void;
  on(event: 'connection', listener: (connection: BrowserConnection) => void): void;
}

interface PageGlobals {
  Peer: new (...args: unknown[]) => BrowserPeer;
  peer: BrowserPeer;
  conn: BrowserConnection;
  inbox: unknown[];
}

interface Opened {
  readonly id?: string;
  readonly error?: string;
}

/** Opens a Peer in the page, kept as `window.peer`; resolves with its id or its error type. */
function openPeer(page: Page, id: string | null): Promise<Opened> {
  return page.evaluate(
    ([peerId, host, port]) =>
      new Promise<Opened>((resolve) => {
        const options = { host, port, path: '/', secure: false, config: { iceServers: [] } };
        const w = window as unknown as PageGlobals;
        const peer = peerId === null ? new w.Peer(options) : new w.Peer(peerId, options);
        w.peer = peer;
        w.inbox = [];
        peer.on('open', (openId) => resolve({ id: openId }));
        peer.on('error', (err) => resolve({ error: err.type }));
        peer.on('connection', (conn) => {
          w.conn = conn;
          conn.on('data', (data) => w.inbox.push(data));
        });
      }),
    [id, signal.host, signal.port] as const,
  );
}

describe('peerjs in Chromium against bu signaling', () => {
  it('connects two tabs that exchange data both ways', async () => {
    const pageA = await newPage();
    const pageB = await newPage();
    expect(await openPeer(pageA, 'alice-chromium')).toEqual({ id: 'alice-chromium' });
    const b = await openPeer(pageB, null);
    expect(b.id).toMatch(/^[0-9a-f-]{36}$/);

    // A dials B and says hello once the channel is open; B answers on its side.
    const atB = pageB.evaluate(
      () =>
        new Promise<unknown>((resolve) => {
          const w = window as unknown as PageGlobals;
          const check = (): void => {
            if (w.inbox.length > 0) resolve(w.inbox[0]);
            else setTimeout(check, 10);
          };
          check();
        }),
    );
    const atA = pageA.evaluate(
      (target) =>
        new Promise<unknown>((resolve) => {
          const w = window as unknown as PageGlobals;
          const conn = w.peer.connect(target, { reliable: true });
          conn.on('open', () => conn.send('hello from alice'));
          conn.on('data', (data) => resolve(data));
        }),
      b.id!,
    );
    expect(await atB).toBe('hello from alice');
    await pageB.evaluate(() => {
      const w = window as unknown as PageGlobals;
      w.conn.send({ reply: 'hello from b', peer: w.conn.peer });
    });
    expect(await atA).toEqual({ reply: 'hello from b', peer: 'alice-chromium' });
  });

  it('gives a third tab unavailable-id for a taken id', async () => {
    const owner = await newPage();
    expect(await openPeer(owner, 'carol-chromium')).toEqual({ id: 'carol-chromium' });
    const thief = await newPage();
    expect(await openPeer(thief, 'carol-chromium')).toEqual({ error: 'unavailable-id' });
  });

  it('reports peer-unavailable for an unknown destination', async () => {
    const page = await newPage();
    expect(await openPeer(page, 'dave-chromium')).toEqual({ id: 'dave-chromium' });
    const error = await page.evaluate(
      () =>
        new Promise<string>((resolve) => {
          const w = window as unknown as PageGlobals;
          w.peer.on('error', (err) => resolve(err.type));
          w.peer.connect('nobody-here');
        }),
    );
    expect(error).toBe('peer-unavailable');
  });
});
