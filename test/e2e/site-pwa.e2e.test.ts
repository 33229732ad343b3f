/**
 * The site as a PWA in Chromium: the manifest and its icons, the service worker
 * controlling /browse/, and /browse/ opening offline and saying so. It also writes screenshots
 * of the pages in light and dark to artifacts/screenshots/site/ (or BU_SCREENSHOTS), with no
 * peers: site-netstate.e2e.test.ts takes those of a live network and of a proxied page.
 */
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, type LaunchedChromium } from './chromium.ts';
import { SITE_DIR, startSiteStack, type SiteStack } from './site-stack.ts';

/** Where screenshots go: test artifacts to look at (BU_SCREENSHOTS overrides). */
const SHOTS =
  process.env['BU_SCREENSHOTS'] ??
  fileURLToPath(new URL('../../artifacts/screenshots/site/', import.meta.url));

let stack: SiteStack;
let chromium: LaunchedChromium;

beforeAll(async () => {
  stack = await startSiteStack({ allow: [] });
  chromium = await launchChromium();
});

afterAll(async () => {
  await chromium?.close();
  await stack?.close();
});

/** Width and height from a PNG's IHDR chunk. */
function pngSize(path: string): [number, number] {
  const bytes = readFileSync(path);
  return [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];
}

describe('the PWA', () => {
  it('has a valid manifest with 192 and 512 icons, maskable too', async () => {
    const response = await fetch(`${stack.url}/manifest.webmanifest`);
    expect(response.headers.get('content-type')).toContain('application/manifest+json');
    const manifest: unknown = await response.json();
    expect(manifest).toMatchObject({
      name: 'Browsers Unbounded',
      start_url: '/browse/',
      display: 'standalone',
    });
    const { short_name, theme_color, background_color } = manifest as Record<string, unknown>;
    expect(typeof short_name === 'string' && short_name.length <= 12).toBe(true);
    expect(theme_color).toMatch(/^#[0-9a-f]{6}$/i);
    expect(background_color).toMatch(/^#[0-9a-f]{6}$/i);
    const icons = (manifest as { icons: Array<{ src: string; sizes: string; purpose: string }> })
      .icons;
    for (const size of [192, 512]) {
      for (const purpose of ['any', 'maskable']) {
        const icon = icons.find((i) => i.sizes === `${size}x${size}` && i.purpose === purpose);
        expect(icon, `${purpose} ${size}`).toBeDefined();
        expect(pngSize(join(SITE_DIR, icon!.src))).toEqual([size, size]);
      }
    }
  });

  it('the service worker controls /browse/, and /browse/ opens offline and says so', async () => {
    const page = await chromium.context.newPage();
    await page.goto(`${stack.url}/browse/`);
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
    await page.reload();
    expect(await page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);

    await chromium.context.setOffline(true);
    try {
      await page.reload();
      await expect
        .poll(() => page.evaluate(() => document.getElementById('bu-offline')?.hidden))
        .toBe(false);
      expect(await page.textContent('#bu-status')).toContain('Offline');
      expect(await page.textContent('h1')).toContain('Browse');
    } finally {
      await chromium.context.setOffline(false);
      await page.close();
    }
  });
});

describe('the site header', () => {
  it('keeps to two rows on phones from 360 to 390 px: brand and theme, then the whole navigation', async () => {
    const page = await chromium.context.newPage();
    for (const width of [360, 375, 390]) {
      await page.setViewportSize({ width, height: 740 });
      await page.goto(`${stack.url}/netstate/`);
      const layout = await page.evaluate(() => {
        const box = (selector: string): DOMRect =>
          document.querySelector(selector)!.getBoundingClientRect();
        const list = document.querySelector('.site-header nav ul')!;
        const items = [...list.querySelectorAll('li')].map((li) => li.getBoundingClientRect());
        return {
          brand: box('.brand'),
          toggle: box('.theme-toggle'),
          nav: box('.site-header nav'),
          header: box('.site-header'),
          itemTops: items.map((item) => Math.round(item.top)),
          itemRight: Math.max(...items.map((item) => item.right)),
          overflows: list.scrollWidth > list.clientWidth,
          page: document.documentElement.scrollWidth,
        };
      });
      // The brand and the toggle share the first row; the navigation is one line below them.
      expect(
        Math.abs(
          layout.brand.top +
            layout.brand.height / 2 -
            (layout.toggle.top + layout.toggle.height / 2),
        ),
        `${width}`,
      ).toBeLessThan(4);
      expect(layout.nav.top, `${width}`).toBeGreaterThanOrEqual(layout.brand.bottom);
      expect(new Set(layout.itemTops).size, `${width}`).toBe(1);
      // Every entry fits without scrolling, and nothing widens the page.
      expect(layout.overflows, `${width}`).toBe(false);
      expect(layout.itemRight, `${width}`).toBeLessThanOrEqual(width);
      expect(layout.page, `${width}`).toBe(width);
      expect(layout.header.height, `${width}`).toBeLessThan(110);
    }
    await page.close();
  });
});

describe('screenshots', () => {
  const dir = SHOTS;
  it('of /, /embed/, /privacy/, /browse/ and /netstate/ (an empty network) in light and dark', async () => {
    await mkdir(dir, { recursive: true });
    for (const scheme of ['light', 'dark'] as const) {
      const page = await chromium.context.newPage();
      const errors: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') errors.push(message.text());
      });
      await page.emulateMedia({ colorScheme: scheme });
      for (const [name, path] of [
        ['home', '/'],
        ['embed', '/embed/'],
        ['privacy', '/privacy/'],
        ['browse', '/browse/'],
        ['netstate-empty', '/netstate/'],
      ] as const) {
        for (const [width, height, label] of [
          [1280, 900, 'desktop'],
          [390, 844, 'phone'],
          [360, 740, 'small-phone'],
        ] as const) {
          await page.setViewportSize({ width, height });
          await page.goto(`${stack.url}${path}`);
          await page.waitForTimeout(600);
          await page.screenshot({
            path: join(dir, `${name}-${label}-${scheme}.png`),
            fullPage: label === 'desktop',
          });
          // Nothing wider than the screen (a phone would scroll sideways).
          const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
          expect(scrollWidth, `${name} ${label} ${scheme}`).toBeLessThanOrEqual(width);
          // The page follows the colour scheme.
          const dark = await page.evaluate(() => {
            const [r = 255, g = 255, b = 255] = (
              getComputedStyle(document.body).backgroundColor.match(/\d+/g) ?? []
            ).map(Number);
            return r + g + b < 3 * 128;
          });
          expect(dark, `${name} ${label} background in ${scheme}`).toBe(scheme === 'dark');
        }
      }
      expect(errors, `console errors in ${scheme}`).toEqual([]);
      await page.close();
    }
  });
});
