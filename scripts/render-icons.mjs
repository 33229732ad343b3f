// Renders the PWA icons (public/icons/*.png) from their SVG sources with Debian's
// Chromium: `node scripts/render-icons.mjs`. The PNGs are committed; run this after
// changing an SVG. The maskable icon keeps its artwork inside the central 80 % safe zone.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const icons = fileURLToPath(new URL('../public/icons/', import.meta.url));
const jobs = [
  { svg: 'icon.svg', png: 'icon-192.png', size: 192 },
  { svg: 'icon.svg', png: 'icon-512.png', size: 512 },
  { svg: 'icon-maskable.svg', png: 'icon-maskable-192.png', size: 192 },
  { svg: 'icon-maskable.svg', png: 'icon-maskable-512.png', size: 512 },
];

const browser = await chromium.launch({
  executablePath: process.env.BU_CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
try {
  const page = await browser.newPage();
  for (const { svg, png, size } of jobs) {
    const source = readFileSync(join(icons, svg), 'utf8');
    await page.setViewportSize({ width: size, height: size });
    await page.setContent(
      `<style>html,body{margin:0;background:transparent}svg{display:block;width:${size}px;height:${size}px}</style>${source}`,
    );
    writeFileSync(join(icons, png), await page.screenshot({ omitBackground: true }));
    console.log(`${png} (${size}×${size})`);
  }
} finally {
  await browser.close();
}
