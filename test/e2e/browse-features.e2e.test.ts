/**
 * What a browser does with a page that /browse/ must do too, in a site origin: a charset
 * declared only in a <meta>, a file sent as an attachment, links and window.open that ask for
 * a new window (a new Browse tab), and an EventSource stream.
 */
import { createServer, type Server } from 'node:http';
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

/** "Привет" in windows-1251. */
const PRIVET_1251 = Buffer.from([0xcf, 0xf0, 0xe8, 0xe2, 0xe5, 0xf2]);

let origin: Server;
let base: string;
let stack: SiteStack;
let volunteer: Volunteer;
let chromium: LaunchedChromium;

beforeAll(async () => {
  origin = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/cyrillic') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(
        Buffer.concat([
          Buffer.from(
            '<!doctype html><html><head><meta charset="windows-1251"></head><body><h1 id="word">',
          ),
          PRIVET_1251,
          Buffer.from('</h1></body></html>'),
        ]),
      );
    } else if (path === '/report.csv') {
      res.writeHead(200, {
        'content-type': 'text/csv',
        'content-disposition': 'attachment; filename="report.csv"',
      });
      res.end('a,b\n1,2\n');
    } else if (path === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
      let n = 0;
      const timer = setInterval(() => {
        n += 1;
        res.write(`data: tick ${n}\n\n`);
        if (n === 3) {
          clearInterval(timer);
          res.end();
        }
      }, 100);
      res.on('close', () => clearInterval(timer));
    } else {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><title>links</title><h1 id="title">links</h1>
<a id="blank" href="/cyrillic" target="_blank">new window</a>
<a id="download" href="/report.csv">download</a>
<button id="open" onclick="window.open('/cyrillic')">open</button>
<p id="events"></p>
<script>
  const seen = [];
  const source = new EventSource('/events');
  source.onmessage = (event) => {
    seen.push(event.data);
    document.getElementById('events').textContent = seen.join(',');
    if (seen.length === 3) source.close();
  };
</script>`);
    }
  });
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
  stack = await startSiteStack({ allow: [new URL(base).host] });
  // Several hub tabs at once (new windows open as tabs), each a consumer of its own.
  volunteer = new Volunteer({
    signaling: `${stack.url}/signal/`,
    kind: 'node',
    iceServers: [],
    slots: 8,
  });
  await volunteer.start();
  chromium = await launchChromium();
});

afterAll(async () => {
  await chromium?.close();
  await volunteer?.stop();
  await stack?.close();
  origin?.close();
});

async function browse(url: string, ready: string): Promise<{ hub: Page; frame: Frame }> {
  const hub = await chromium.context.newPage();
  await hub.goto(`${stack.url}/browse/?go=${encodeURIComponent(url)}`);
  await expect
    .poll(() => hub.frameLocator('#bu-frame').locator(ready).count(), { timeout: 30_000 })
    .toBe(1);
  const frame = hub.frames().find((f) => f !== hub.mainFrame() && f.url().includes('.localhost:'));
  if (!frame) throw new Error('no site frame');
  return { hub, frame };
}

describe('/browse/ does what a browser does', () => {
  it('honours a charset declared only in <meta>', async () => {
    const { hub, frame } = await browse(`${base}/cyrillic`, '#word');
    expect(await frame.locator('#word').textContent()).toBe('Привет');
    await hub.close();
  });

  it('saves a file sent as an attachment', async () => {
    const { hub, frame } = await browse(`${base}/`, '#title');
    const [download] = await Promise.all([
      hub.waitForEvent('download', { timeout: 20_000 }),
      frame.locator('#download').click(),
    ]);
    expect(download.suggestedFilename()).toBe('report.csv');
    const path = await download.path();
    const { readFile } = await import('node:fs/promises');
    expect(await readFile(path, 'utf8')).toBe('a,b\n1,2\n');
    await hub.close();
  });

  it('opens target=_blank links and window.open as new Browse tabs', async () => {
    const { hub, frame } = await browse(`${base}/`, '#title');
    for (const trigger of ['#blank', '#open']) {
      const [tab] = await Promise.all([
        chromium.context.waitForEvent('page', { timeout: 20_000 }),
        frame.locator(trigger).click(),
      ]);
      await tab.waitForLoadState();
      const opened = new URL(tab.url());
      expect(opened.origin).toBe(new URL(stack.url).origin);
      expect(opened.pathname).toBe('/browse/');
      expect(opened.searchParams.get('go')).toBe(`${base}/cyrillic`);
      await expect
        .poll(() => tab.frameLocator('#bu-frame').locator('#word').textContent(), {
          timeout: 30_000,
        })
        .toBe('Привет');
      await tab.close();
    }
    await hub.close();
  });

  it('streams an EventSource', async () => {
    const { hub, frame } = await browse(`${base}/`, '#title');
    await expect
      .poll(() => frame.locator('#events').textContent(), { timeout: 20_000 })
      .toBe('tick 1,tick 2,tick 3');
    await hub.close();
  });
});
