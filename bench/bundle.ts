/**
 * Bench 5, bundle sizes (gzip level 9, as components/build.mjs measures): the widget without
 * the globe and the globe chunk (dist/widget/sizes.json), the service worker, and the first
 * load of `/` and `/browse/`: the HTML plus every script, module it imports statically, and
 * stylesheet the page loads (dynamic imports excluded). Reads dist/ as `npm run build &&
 * npm run build:site` leave it; sizes do not vary between runs, so one run is enough.
 *
 *   node --import ./bench/register-ts.mjs bench/bundle.ts [--smoke]
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { gzipSync } from 'node:zlib';
import { REPO_DIR, runIfMain, type BenchArgs } from './lib/args.ts';
import { machine, writeResult, type Measurement } from './lib/result.ts';
import { summarize } from './lib/stats.ts';

const SITE = join(REPO_DIR, 'dist/site');
const WIDGET = join(REPO_DIR, 'dist/widget');
const KiB = 1024;

function gzipSize(file: string): number {
  return gzipSync(readFileSync(file), { level: 9 }).length;
}

/** Site paths (`/_astro/x.js`) a page loads up front. */
function pageAssets(html: string): string[] {
  const found: string[] = [];
  const patterns = [
    /<script\b[^>]*\bsrc="([^"]+)"/g,
    /<link\b[^>]*\brel="(?:stylesheet|modulepreload)"[^>]*\bhref="([^"]+)"/g,
    /<link\b[^>]*\bhref="([^"]+)"[^>]*\brel="(?:stylesheet|modulepreload)"/g,
  ];
  for (const pattern of patterns) {
    for (const match of html.matchAll(pattern)) if (match[1] !== undefined) found.push(match[1]);
  }
  // Inline module scripts can import too.
  for (const match of html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)) {
    for (const spec of staticImports(match[1] ?? '')) found.push(spec);
  }
  return found.filter((src) => src.startsWith('/'));
}

/** Specifiers of static `import … from "x"`, `import "x"` and `export … from "x"`. */
function staticImports(code: string): string[] {
  const specs: string[] = [];
  const pattern = /(?:^|[;}\s])(?:import|export)\s*(?:[\w$*{}\s,]*?\s*from\s*)?["']([^"']+)["']/g;
  for (const match of code.matchAll(pattern)) if (match[1] !== undefined) specs.push(match[1]);
  return specs;
}

/** Gzipped bytes of a page and everything it loads statically, each file counted once. */
function firstLoad(page: string): { bytes: number; files: string[] } {
  const htmlFile = join(SITE, page, 'index.html');
  const html = readFileSync(htmlFile, 'utf8');
  const seen = new Set<string>();
  let bytes = gzipSize(htmlFile);
  const visit = (sitePath: string): void => {
    const clean = sitePath.split(/[?#]/)[0] ?? sitePath;
    if (seen.has(clean)) return;
    seen.add(clean);
    const file = join(SITE, clean);
    if (!existsSync(file)) throw new Error(`${page}: ${clean} is not in dist/site`);
    bytes += gzipSize(file);
    if (clean.endsWith('.js') || clean.endsWith('.mjs')) {
      for (const spec of staticImports(readFileSync(file, 'utf8'))) {
        if (spec.startsWith('.') || spec.startsWith('/')) {
          visit(spec.startsWith('/') ? spec : posix.join(posix.dirname(clean), spec));
        }
      }
    }
  };
  for (const asset of pageAssets(html)) visit(asset);
  return { bytes, files: [`${page}index.html`, ...seen] };
}

interface WidgetSizes {
  readonly budget: number;
  readonly widgetGzip: number;
  readonly files: readonly { file: string; gzip: number; globe: boolean }[];
}

function readWidgetSizes(): WidgetSizes {
  const value: unknown = JSON.parse(readFileSync(join(WIDGET, 'sizes.json'), 'utf8'));
  if (typeof value !== 'object' || value === null) throw new Error('bad sizes.json');
  const budget: unknown = Reflect.get(value, 'budget');
  const widgetGzip: unknown = Reflect.get(value, 'widgetGzip');
  const files: unknown = Reflect.get(value, 'files');
  if (typeof budget !== 'number' || typeof widgetGzip !== 'number' || !Array.isArray(files)) {
    throw new Error('dist/widget/sizes.json: unexpected shape');
  }
  return {
    budget,
    widgetGzip,
    files: files.map((f: unknown) => {
      if (typeof f !== 'object' || f === null) throw new Error('bad sizes.json entry');
      const file: unknown = Reflect.get(f, 'file');
      const gzip: unknown = Reflect.get(f, 'gzip');
      const globe: unknown = Reflect.get(f, 'globe');
      if (typeof file !== 'string' || typeof gzip !== 'number' || typeof globe !== 'boolean') {
        throw new Error('bad sizes.json entry');
      }
      return { file, gzip, globe };
    }),
  };
}

export async function main(args: BenchArgs): Promise<void> {
  for (const needed of [
    join(WIDGET, 'sizes.json'),
    join(SITE, 'index.html'),
    join(SITE, 'sw.js'),
  ]) {
    if (!existsSync(needed)) {
      throw new Error(`${needed} is missing: run npm run build && npm run build:site first`);
    }
  }
  const widget = readWidgetSizes();
  const globe = widget.files.filter((f) => f.globe).reduce((sum, f) => sum + f.gzip, 0);
  const home = firstLoad('/');
  const browse = firstLoad('/browse/');
  const sw = gzipSize(join(SITE, 'sw.js'));
  const runtime = join(SITE, 'proxy-runtime.js');
  const one = (metric: string, bytes: number): Measurement => ({
    metric,
    subject: 'ours',
    unit: 'KiB gzip',
    summary: summarize([bytes / KiB]),
  });
  const measurements: Measurement[] = [
    one('widget without the globe (all non-globe chunks)', widget.widgetGzip),
    one('globe chunk (lazy)', globe),
    one('service worker (sw.js, with its workbox precache list)', sw),
    ...(existsSync(runtime)
      ? [one('proxy runtime injected in proxied pages', gzipSize(runtime))]
      : []),
    one('first load of /', home.bytes),
    one('first load of /browse/', browse.bytes),
  ];
  await writeResult(args.out, {
    bench: 'bundle',
    title: 'Bundle sizes (gzip -9)',
    smoke: args.smoke,
    date: new Date().toISOString(),
    machine: machine(),
    runs: 1,
    setup: [
      'from dist/ after npm run build && npm run build:site; gzip level 9 per file (what components/build.mjs reports)',
      `widget without the globe: the sum over every non-globe chunk of dist/widget (the switch, the PeerJS bundle and the volunteer runtime loaded on first use), as dist/widget/sizes.json counts it`,
      `first load of /: ${home.files.join(', ')}`,
      `first load of /browse/: ${browse.files.join(', ')}`,
      'first loads count the HTML and what it loads at once (scripts, their static imports, stylesheets); not images, icons, the manifest or the service worker, which installs after the page',
    ],
    measurements,
    verdicts: [
      {
        target: 'widget without the globe ≤ 60 KiB gzip',
        measured: `${(widget.widgetGzip / KiB).toFixed(1)} KiB`,
        met: widget.widgetGzip <= 60 * KiB,
      },
    ],
  });
}

runIfMain(import.meta.url, main);
