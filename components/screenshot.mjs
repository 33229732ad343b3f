// Renders the built widget (dist/widget, from components/build.mjs) in mock mode in
// Chromium: light and dark, banner, panel and floating, desktop and mobile widths.
// Writes PNGs to a temporary folder (or SCREENSHOT_DIR) and prints where.
// `node components/screenshot.mjs [filter]` — filter matches file names, e.g. "panel".
import { createServer } from 'node:http';
import { mkdtempSync, mkdirSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = fileURLToPath(new URL('../', import.meta.url));
const widgetDir = join(root, 'dist/widget');
if (!existsSync(join(widgetDir, 'browsers-unbounded.js'))) {
  console.error('Build the widget first: node components/build.mjs');
  process.exit(1);
}
const outDir = process.env.SCREENSHOT_DIR ?? mkdtempSync(join(tmpdir(), 'bu-screens-'));
mkdirSync(outDir, { recursive: true });
const filter = process.argv[2] ?? '';

const page = (params) => {
  const layout = params.get('layout') ?? 'banner';
  const theme = params.get('theme') ?? 'light';
  const extra = params.get('extra') ?? '';
  const dark = theme === 'dark';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Widget demo</title>
<link rel="icon" href="data:,">
<style>
  body { margin: 0; font: 16px/1.6 Georgia, serif; background: ${dark ? '#0b0f14' : '#fafafa'}; color: ${dark ? '#d5dbe2' : '#222'}; }
  main { max-width: 860px; margin: 0 auto; padding: 24px 20px 200px; }
  h1 { font-size: 1.6em; margin: 0 0 12px; }
  .embed { margin: 24px 0; }
</style>
<script type="module" src="/widget/browsers-unbounded.js"></script>
</head><body><main>
<h1>An article on a site that embeds the widget</h1>
<p>Millions of people live behind firewalls that block news sites, messaging apps and search engines. The widget below lets a reader share their connection.</p>
<div class="embed">
<browsers-unbounded data-mock="true" data-layout="${layout}" data-theme="${theme}" data-title="true" data-menu="true" data-share="true" data-info-link="https://example.org/about" ${extra}></browsers-unbounded>
</div>
<p>The rest of the article continues here, with more paragraphs of text that a reader would scroll past while the widget keeps working in the page.</p>
</main></body></html>`;
};

const types = { '.js': 'text/javascript', '.map': 'application/json', '.txt': 'text/plain' };
const server = createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://127.0.0.1');
  if (url.pathname === '/') {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end(page(url.searchParams));
    return;
  }
  if (url.pathname.startsWith('/widget/')) {
    const file = normalize(join(widgetDir, url.pathname.slice('/widget/'.length)));
    if (file.startsWith(widgetDir) && existsSync(file)) {
      response.writeHead(200, {
        'content-type': types[extname(file)] ?? 'application/octet-stream',
      });
      response.end(readFileSync(file));
      return;
    }
  }
  response.writeHead(404).end();
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const origin = `http://127.0.0.1:${server.address().port}`;

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    // WebGL without a GPU, so the globe renders in the screenshots.
    '--use-angle=swiftshader',
    '--enable-unsafe-swiftshader',
  ],
});

const viewports = {
  desktop: { width: 1280, height: 900 },
  mobile: { width: 390, height: 844, isMobile: true, hasTouch: true, deviceScaleFactor: 2 },
};
const shots = [];
for (const theme of ['light', 'dark'])
  for (const layout of ['banner', 'panel', 'floating'])
    for (const device of ['desktop', 'mobile'])
      for (const expand of layout === 'panel' ? [false] : [false, true])
        shots.push({ theme, layout, device, expand });
shots.push({
  theme: 'light',
  layout: 'panel',
  device: 'desktop',
  expand: false,
  extra: 'data-editor="true"',
  name: 'editor',
});
shots.push({
  theme: 'dark',
  layout: 'panel',
  device: 'desktop',
  expand: false,
  sheet: 'embed',
  name: 'embed-sheet',
});

const failures = [];
for (const shot of shots) {
  const name =
    shot.name ?? `${shot.layout}-${shot.theme}-${shot.device}${shot.expand ? '-expanded' : ''}`;
  if (!name.includes(filter)) continue;
  const {
    isMobile = false,
    hasTouch = false,
    deviceScaleFactor = 1,
    ...viewport
  } = viewports[shot.device];
  const context = await browser.newContext({
    viewport,
    isMobile,
    hasTouch,
    deviceScaleFactor,
    colorScheme: shot.theme,
  });
  const tab = await context.newPage();
  tab.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning')
      failures.push(`${name}: ${message.text()}`);
  });
  tab.on('request', (request) => {
    if (!request.url().startsWith(origin))
      failures.push(`${name}: request outside: ${request.url()}`);
  });
  const params = new URLSearchParams({
    layout: shot.layout,
    theme: shot.theme,
    extra: shot.extra ?? '',
  });
  await tab.goto(`${origin}/?${params}`);
  await tab.getByRole('switch').waitFor();
  if (shot.expand) await tab.getByRole('button', { name: 'Show more' }).click();
  await tab.getByRole('switch').click();
  // Mock consumers arrive every few seconds; give a few of them time to connect.
  await tab.waitForTimeout(6500);
  if (shot.sheet) {
    await tab.getByRole('button', { name: 'Menu' }).click();
    await tab.getByRole('button', { name: 'Embed on your site' }).click();
  }
  await tab.waitForTimeout(400);
  const file = join(outDir, `${name}.png`);
  await tab.screenshot({ path: file, fullPage: shot.layout !== 'floating' });
  console.log(file);
  await context.close();
}
await browser.close();
server.close();
if (failures.length)
  console.log(`\nconsole warnings/errors and stray requests:\n${failures.join('\n')}`);
