// Builds the service worker and the proxy runtime into the site's output directory:
// `sw.js` (esbuild, then workbox-build injects the list of shell files to precache) and
// `proxy-runtime.js` (the script the hub injects into proxied pages). Called by the
// Astro integration in astro.config.mjs after the pages are built.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { injectManifest } from 'workbox-build';

const root = fileURLToPath(new URL('../', import.meta.url));

export async function buildServiceWorker(outDir) {
  const common = {
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: ['es2022', 'chrome109', 'firefox115', 'safari16'],
    minify: true,
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'warning',
  };
  await build({
    ...common,
    entryPoints: [join(root, 'sw/sw.ts')],
    outfile: join(outDir, 'sw.js'),
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  // A site origin's own files (served under /~bu/ on every site origin): the boot page's
  // script, the site's service worker and the runtime injected into proxied pages.
  for (const [entry, out] of [
    ['sw/site-boot.ts', '_bu/boot.js'],
    ['sw/site-sw.ts', '_bu/sw.js'],
    ['sw/page-runtime.ts', '_bu/runtime.js'],
  ]) {
    await build({ ...common, entryPoints: [join(root, entry)], outfile: join(outDir, out) });
  }
  // The shell: the hub page and what it loads, the manifest and icons. The other pages
  // are cached too, so the whole site works offline; the widget's globe chunk is not.
  const { count, size, warnings } = await injectManifest({
    swSrc: join(outDir, 'sw.js'),
    swDest: join(outDir, 'sw.js'),
    globDirectory: outDir,
    globPatterns: [
      '**/index.html',
      '_astro/**/*.{js,css}',
      'widget/browsers-unbounded.js',
      'manifest.webmanifest',
      'icons/*.{png,svg}',
    ],
    maximumFileSizeToCacheInBytes: 4 * 1024 * 1024,
    // Each file's SHA-256, checked by the browser at install and by the worker when it serves
    // the file from the cache (sw/shell-integrity.ts).
    manifestTransforms: [
      (entries) => ({
        manifest: entries.map((entry) => ({
          ...entry,
          integrity: `sha256-${createHash('sha256')
            .update(readFileSync(join(outDir, entry.url)))
            .digest('base64')}`,
        })),
        warnings: [],
      }),
    ],
  });
  for (const warning of warnings) console.warn(`sw: ${warning}`);
  console.log(`sw.js: ${count} files precached (${(size / 1024).toFixed(1)} KiB)`);
}
