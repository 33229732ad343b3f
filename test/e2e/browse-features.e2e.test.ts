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
import WebSocket, { WebSocketServer } from 'ws';
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
<p id="socket"></p>
<script>
  const seen = [];
  const source = new EventSource('/events');
  source.onmessage = (event) => {
    seen.push(event.data);
    document.getElementById('events').textContent = seen.join(',');
    if (seen.length === 3) source.close();
  };
  const log = [];
  const show = () => (document.getElementById('socket').textContent = log.join('|'));
  const socket = new WebSocket(location.href.replace(/^http/, 'ws') + 'echo', ['chat']);
  socket.binaryType = 'arraybuffer';
  socket.onopen = () => { log.push('open:' + socket.protocol); show(); socket.send('ping'); socket.send(new Uint8Array([1, 2, 3])); };
  socket.onmessage = (event) => {
    log.push(typeof event.data === 'string' ? event.data : 'bytes:' + new Uint8Array(event.data).join(','));
    show();
    if (log.length === 4) socket.close(1000, 'done');
  };
  socket.onclose = (event) => { log.push('close:' + event.code + ':' + event.wasClean); show(); };
</script>`);
    }
  });
  // A WebSocket echo on the same origin: the page's socket must reach it through the mesh.
  const echo = new WebSocketServer({ server: origin, path: '/echo' });
  echo.on('connection', (socket, req) => {
    socket.send(`hello ${req.headers.origin ?? 'no origin'} ${socket.protocol}`);
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
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
  if (process.env['BU_DEBUG'])
    hub.on('console', (m) => console.log(`${m.type()}: ${m.text().slice(0, 200)}`));
  await hub.goto(`${stack.url}/browse/?go=${encodeURIComponent(url)}`);
  await expect
    .poll(() => hub.frameLocator('#bu-frame').locator(ready).count(), { timeout: 30_000 })
    .toBe(1)
    .catch(async (err: unknown) => {
      const status = await hub.textContent('#bu-status');
      const frames = hub.frames().map((f) => f.url());
      const text = await hub
        .frames()[1]
        ?.textContent('body')
        .catch(() => '');
      throw new Error(
        `${String(err)}\nstatus: ${status}\nframes: ${frames.join(' ')}\nframe text: ${text}`,
      );
    });
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

  it('opens a WebSocket through the mesh (the page may open none itself)', async () => {
    const { hub, frame } = await browse(`${base}/`, '#title');
    await expect
      .poll(() => frame.locator('#socket').textContent(), { timeout: 20_000 })
      .toBe(`open:chat|hello ${base} chat|ping|bytes:1,2,3|close:1000:true`);
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
