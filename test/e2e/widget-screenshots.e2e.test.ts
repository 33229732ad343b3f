/**
 * Screenshots of the widget (mock mode) in every layout, light and dark, at
 * desktop width, written as test artifacts to artifacts/screenshots/ for a
 * person to look at. The run must show no console errors or warnings and make
 * no request outside the page's own origin.
 */
import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../../', import.meta.url).pathname;
const OUT = join(ROOT, 'artifacts/screenshots');
const run = promisify(execFile);

describe('widget screenshots', () => {
  it('renders banner, panel and floating in light and dark, cleanly', async () => {
    await rm(OUT, { recursive: true, force: true });
    await run(process.execPath, [join(ROOT, 'components/build.mjs')]);
    const { stdout } = await run(
      process.execPath,
      [join(ROOT, 'components/screenshot.mjs'), 'desktop'],
      { env: { ...process.env, SCREENSHOT_DIR: OUT }, maxBuffer: 16 * 1024 * 1024 },
    );
    expect(stdout).not.toContain('console warnings/errors and stray requests');
    const shots = new Map<string, Buffer>();
    for (const layout of ['banner', 'panel', 'floating']) {
      for (const theme of ['light', 'dark']) {
        const png = await readFile(join(OUT, `${layout}-${theme}-desktop.png`));
        expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
        shots.set(`${layout}-${theme}`, png);
      }
    }
    for (const layout of ['banner', 'panel', 'floating']) {
      expect(
        shots.get(`${layout}-light`)?.equals(shots.get(`${layout}-dark`) ?? Buffer.alloc(0)),
      ).toBe(false);
    }
  });
});
