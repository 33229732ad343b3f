/**
 * A standalone deployment, end to end, with no one-machine switch: `bu signaling` and
 * `bu egress` as separate processes (strict NAT rules: no --ignore-nat; no --allow-same-ip),
 * the built site on a plain static file server whose `config.json` names the signaling server
 * (no rebuild), and `bu sites` for the site origins of /browse/.
 *
 * A volunteer is the widget embedded on a page of another origin, with the snippet the site's
 * /embed/ page generates, switched on by a real click in Chromium. A /browse/ user in a second
 * Chromium and `bu proxy` + curl both get pages of a local site through it. The signaling
 * server serves only the origins its operator lists (--cors): the widget on an unlisted origin
 * says so.
 *
 * One machine plays several: the two Chromiums resolve the signaling server's name
 * (`signal.test`) to the namespace's two addresses, so the server sees the volunteer at
 * 10.77.0.1 and the consumers at 10.77.0.2, as it would see two machines.
 */
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoSite, type DemoSite } from '../../cli/demo-site.ts';
import {
  admissionFlags,
  BuProcess,
  curl,
  startProxy,
  tempDir,
  waitForVolunteers,
  type Proxy,
} from './chain-harness.ts';
import { launchChromium, type LaunchedChromium } from './chromium.ts';
import { startPlainStaticServer, type PlainStaticServer } from './plain-static-server.ts';
import { SITE_DIR } from './site-stack.ts';

const SIGNAL_NAME = 'signal.test';
const ARTIFACTS = new URL('../../artifacts/', import.meta.url).pathname;

let demo: DemoSite;
let egress: BuProcess;
let signaling: BuProcess;
let sites: BuProcess;
let site: PlainStaticServer;
let foreign: Server;
let unlisted: Server;
let foreignUrl = '';
let unlistedUrl = '';
let signalingPort = 0;
let volunteerBrowser: LaunchedChromium;
let userBrowser: LaunchedChromium;
let proxy: Proxy | undefined;
/** The HTML the site's /embed/ page generated, pasted into the foreign pages. */
let snippet = '';

function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

/** A port free now: `bu sites` must be told its own port in the template before it starts. */
async function freePort(): Promise<number> {
  const probe = createServer();
  const port = await listen(probe);
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** Another site: one page with whatever HTML the embedder pasted. */
function embedderPage(title: string, html: () => string): Server {
  return createServer((req, res) => {
    if (req.url !== '/') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>${title}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}
@media (prefers-color-scheme: dark){body{background:#111;color:#eee}}</style></head>
<body><h1>${title}</h1><p>A blog post about something else entirely. Below, the widget.</p>
${html()}
</body></html>`);
  });
}

beforeAll(async () => {
  demo = await startDemoSite();
  const dir = await tempDir('bu-standalone-');

  const admission = await admissionFlags(dir);
  egress = new BuProcess([
    'egress',
    ...admission.egress,
    '--host',
    '10.77.0.1',
    '--port',
    '0',
    '--key',
    join(dir, 'egress-key.json'),
    '--allow',
    `127.0.0.1:${demo.port}`,
    '--log-level',
    'warn',
  ]);
  const egressListening = await egress.waitFor((e) => e['event'] === 'listening', 'bu egress');
  const egressUrl = String(egressListening['url']).replace(/^http/, 'ws');
  const publicKey = String(egressListening['publicKey']);

  // The site, as an operator deploys it: the build copied as it is, plus two files of theirs.
  const siteRoot = join(dir, 'site');
  await cp(SITE_DIR, siteRoot, { recursive: true });
  site = await startPlainStaticServer(siteRoot, {
    cors: (path) => path.startsWith('/widget/') || path === '/config.json',
  });
  const sitesPort = await freePort();
  const sitesTemplate = `http://{label}.localhost:${sitesPort}`;
  await writeFile(join(siteRoot, 'sites.json'), JSON.stringify({ template: sitesTemplate }));

  foreign = embedderPage('Some blog', () => snippet);
  foreignUrl = `http://localhost:${await listen(foreign)}/`;
  unlisted = embedderPage('A site the operator did not list', () => snippet);
  unlistedUrl = `http://localhost:${await listen(unlisted)}/`;

  // Listens on every address of the namespace: volunteers reach it at 10.77.0.1, consumers at
  // 10.77.0.2 (below), so it sees two machines.
  signaling = new BuProcess([
    'signaling',
    ...admission.signaling,
    '--host',
    '0.0.0.0',
    '--port',
    '0',
    '--no-geoip',
    '--egress',
    `local=${egressUrl}#${publicKey}`,
    '--cors',
    site.url,
    '--cors',
    foreignUrl.slice(0, -1),
    '--log-level',
    'info',
  ]);
  const signalingListening = await signaling.waitFor(
    (e) => e['event'] === 'listening',
    'bu signaling',
  );
  signalingPort = Number(signalingListening['port']);
  await writeFile(
    join(siteRoot, 'config.json'),
    JSON.stringify({ signaling: `http://${SIGNAL_NAME}:${signalingPort}/` }),
  );

  sites = new BuProcess([
    'sites',
    '--port',
    String(sitesPort),
    '--sites-origin',
    sitesTemplate,
    '--hub',
    site.url,
    '--site',
    siteRoot,
  ]);
  await sites.waitFor((e) => e['event'] === 'listening', 'bu sites');

  volunteerBrowser = await launchChromium([`--host-resolver-rules=MAP ${SIGNAL_NAME} 10.77.0.1`]);
  userBrowser = await launchChromium([`--host-resolver-rules=MAP ${SIGNAL_NAME} 10.77.0.2`]);
}, 120_000);

afterAll(async () => {
  await proxy?.process.stop();
  await volunteerBrowser?.close();
  await userBrowser?.close();
  await Promise.all([sites?.stop(), signaling?.stop(), egress?.stop()]);
  await site?.close();
  foreign?.close();
  unlisted?.close();
  await demo?.close();
});

/** Collects the page's console, page errors and failed requests, for a failure's message. */
function watch(page: Page): string[] {
  const lines: string[] = [];
  page.on('console', (m) => lines.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => lines.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => lines.push(`failed: ${r.url()} ${r.failure()?.errorText}`));
  return lines;
}

function widgetState(page: Page): Promise<string> {
  return page.evaluate(
    () => (document.querySelector('browsers-unbounded') as unknown as { state: string }).state,
  );
}

describe('a standalone deployment (bu signaling + bu egress + a static file server)', () => {
  it("generates the embed code on the site's /embed/ page", async () => {
    const page = await userBrowser.context.newPage();
    await page.goto(`${site.url}/embed/`);
    await page.selectOption('#setting-layout', 'panel');
    await page.selectOption('#setting-theme', 'auto');
    snippet = (await page.locator('#embed-code code').textContent()) ?? '';
    expect(snippet).toBe(
      `<script type="module" src="${site.url}/widget/browsers-unbounded.js"></script>
<browsers-unbounded
  data-layout="panel"
  data-theme="auto"></browsers-unbounded>`,
    );
    await page.close();
  });

  it('a widget on another origin loads from the site, switches on by a click and serves bu proxy', async () => {
    const page = await volunteerBrowser.context.newPage();
    const logs = watch(page);
    await page.goto(foreignUrl);
    await page.waitForFunction(() => customElements.get('browsers-unbounded') !== undefined);
    const toggle = page.getByRole('switch');
    await toggle.click();
    await expect
      .poll(() => widgetState(page), { timeout: 30_000 })
      .toBe('on')
      .catch((err: unknown) => {
        throw new Error(`${String(err)}\n${logs.join('\n')}\n${signaling.lines.join('\n')}`);
      });
    expect(await toggle.getAttribute('aria-checked')).toBe('true');

    // Everything the widget loaded came from its own site, with CORS: the script, its lazy
    // chunks (mesh runtime, globe) and config.json; none of it from the embedding page.
    const loaded = site.log.filter((r) => r.origin === foreignUrl.slice(0, -1)).map((r) => r.path);
    expect(loaded).toContain('/widget/browsers-unbounded.js');
    expect(loaded).toContain('/config.json');
    expect(loaded.some((path) => /^\/widget\/chunks\/volunteer-.*\.js$/.test(path))).toBe(true);
    expect(loaded.some((path) => /^\/widget\/chunks\/globe-scene-.*\.js$/.test(path))).toBe(true);
    expect(logs.filter((line) => /CORS|failed:/.test(line))).toEqual([]);

    // bu proxy reaches the signaling server at the other address.
    proxy = await startProxy(`http://10.77.0.2:${signalingPort}/`, ['--volunteers', '1']);
    await waitForVolunteers(proxy, 1);
    const result = await curl('http', proxy, `${demo.url}/`);
    expect(result.status).toBe('200');
    expect(result.text).toContain('Demo home');
    await expect
      .poll(
        () =>
          page.evaluate(
            () =>
              (
                document.querySelector('browsers-unbounded') as unknown as {
                  stats: { total: number };
                }
              ).stats.total,
          ),
        { timeout: 10_000 },
      )
      .toBeGreaterThanOrEqual(1);

    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.waitForTimeout(300);
      await mkdir(ARTIFACTS, { recursive: true });
      await page.screenshot({
        path: join(ARTIFACTS, `standalone-embedded-${scheme}.png`),
        fullPage: true,
      });
    }
  });

  it('a /browse/ user in another Chromium gets pages through the same volunteer', async () => {
    const page = await userBrowser.context.newPage();
    const logs = watch(page);
    await page.goto(`${site.url}/browse/`);
    await expect
      .poll(() => page.textContent('#bu-volunteers'), { timeout: 30_000 })
      .not.toBe('0')
      .catch((err: unknown) => {
        throw new Error(`${String(err)}\n${logs.join('\n')}`);
      });
    await page.fill('#bu-url', `${demo.url}/`);
    await page.click('#bu-address button[type=submit]');
    const frame = page.frameLocator('#bu-frame');
    await expect
      .poll(() => frame.locator('#title').textContent(), { timeout: 30_000 })
      .toBe('Demo home')
      .catch((err: unknown) => {
        throw new Error(`${String(err)}\n${logs.join('\n')}`);
      });
    // The page is in its own site origin, served by bu sites.
    expect(
      page.frame({ url: new RegExp(`^http://[a-z2-7]{26}\\.localhost:\\d+/`) }),
    ).not.toBeNull();
    // Every request at the demo site came from the egress.
    for (const request of demo.log) expect(request.secFetch, request.path).toBe(false);
    await page.close();
  });

  it('the widget on an origin the operator did not list says the server refused it', async () => {
    const page = await volunteerBrowser.context.newPage();
    await page.goto(unlistedUrl);
    await page.waitForFunction(() => customElements.get('browsers-unbounded') !== undefined);
    const error = page.evaluate(
      () =>
        new Promise<string>((resolve) =>
          document.addEventListener('bu-error', (e) =>
            resolve((e as CustomEvent<{ error: Error }>).detail.error.message),
          ),
        ),
    );
    await page.getByRole('switch').click();
    expect(await error).toMatch(/origin-not-allowed/);
    await expect(page.getByText(/Sharing stopped: .*origin-not-allowed/).count()).resolves.toBe(1);
    await expect.poll(() => widgetState(page)).toBe('off');
    await page.screenshot({ path: join(ARTIFACTS, 'standalone-refused.png'), fullPage: true });
    await page.close();
  });
});
