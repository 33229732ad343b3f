/**
 * The widget's size budget, checked on every CI run: without the globe (but
 * with Lit, PeerJS and the mesh runtime) at most 60 KiB gzipped, and the globe
 * a separate chunk that only a dynamic import reaches.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

interface Sizes {
  budget: number;
  widgetGzip: number;
  files: Array<{ file: string; gzip: number; globe: boolean; imports: string[] }>;
}

describe('widget bundle', () => {
  it('stays within its budget, with the globe lazy', async () => {
    const build = new URL('../build.mjs', import.meta.url).pathname;
    await promisify(execFile)(process.execPath, [build]).catch(
      (err: Error & { stderr?: string }) => {
        throw new Error(`the widget build failed: ${err.stderr ?? err.message}`);
      },
    );
    const sizes = JSON.parse(
      await readFile(new URL('../../dist/widget/sizes.json', import.meta.url), 'utf8'),
    ) as Sizes;
    expect(sizes.budget).toBe(60 * 1024);
    expect(sizes.widgetGzip).toBeLessThanOrEqual(sizes.budget);
    const globe = sizes.files.filter((f) => f.globe);
    expect(globe).toHaveLength(1);
    const globeFile = globe[0]?.file ?? '';
    for (const file of sizes.files) expect(file.imports).not.toContain(globeFile);
    const entry = sizes.files.find((f) => f.file === 'browsers-unbounded.js');
    expect(entry?.globe).toBe(false);
  });
});
