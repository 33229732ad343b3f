// Bundles the widget: dist/widget/browsers-unbounded.js (the element, Lit, idb-keyval and
// everything but the globe) plus a lazily imported chunk with globe.gl and three.
// Prints the gzipped size of each file. `node components/build.mjs [--metafile]`.
import { build } from 'esbuild';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = fileURLToPath(new URL('../', import.meta.url));
const outdir = join(root, 'dist/widget');

// globe.gl and two of its dependencies inject a <style> into the page's <head> when they
// load. The widget lives in a shadow root and styles nothing outside it, so drop them.
const noGlobalStyles = {
  name: 'no-global-styles',
  setup(builder) {
    builder.onLoad(
      { filter: /node_modules[\\/](globe\.gl|float-tooltip|three-render-objects)[\\/].*\.mjs$/ },
      (args) => ({
        contents: readFileSync(args.path, 'utf8').replace(/^styleInject\(css_248z\);$/m, ''),
        loader: 'js',
      }),
    );
  },
};

// three-globe imports the WebGPU renderer and TSL (for its heatmap layer) and h3-js (for
// its hexagon layers). The widget uses neither layer, and together they are more than half
// of the globe chunk. PeerJS imports @msgpack/msgpack for its MsgPack serializer (the
// `MsgPack` and `MsgPackPeer` exports), which the mesh never uses: its connections are `raw`
// (a quarter of the PeerJS chunk). So the bundle gets stand-ins that throw if anything ever
// calls them.
const unusedLayers = {
  name: 'unused-modules',
  setup(builder) {
    builder.onResolve(
      { filter: /^(three\/webgpu|three\/tsl|h3-js|@msgpack\/msgpack)$/ },
      (args) => ({
        path: args.path,
        namespace: 'unused',
      }),
    );
    builder.onLoad({ filter: /.*/, namespace: 'unused' }, (args) => {
      const fail = `() => { throw new Error('${args.path} is not bundled with the widget'); }`;
      const names = {
        'three/webgpu': ['StorageInstancedBufferAttribute', 'WebGPURenderer'],
        'three/tsl': [],
        'h3-js': ['latLngToCell', 'cellToLatLng', 'cellToBoundary', 'polygonToCells'],
        '@msgpack/msgpack': ['Encoder', 'decodeMultiStream'],
      }[args.path];
      return {
        contents: names.map((name) => `export const ${name} = ${fail};`).join('\n') || 'export {};',
        loader: 'js',
      };
    });
  },
};

// The components' CSS is in Lit's css`` templates, which a minifier leaves as written. None of
// them has a string where spacing matters, so comments and whitespace go; an interpolation
// (`${name}`, another css`` block) is kept as it stands and the text around it compacted.
const compactCss = {
  name: 'compact-css',
  setup(builder) {
    const compact = (text) =>
      text
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/\s+/g, ' ')
        .replace(/\s*([{};,>])\s*/g, '$1')
        .replace(/:\s+/g, ':');
    const compactTemplate = (text) =>
      text
        .split(/(\$\{[^}]*\})/)
        .map((part) => (part.startsWith('${') ? part : compact(part)))
        .join('')
        .trim();
    builder.onLoad({ filter: /components[\\/][^\\/]+\.ts$/ }, (args) => ({
      contents: readFileSync(args.path, 'utf8').replace(
        /\bcss`([^`]*)`/g,
        (_whole, text) => `css\`${compactTemplate(text)}\``,
      ),
      loader: 'ts',
    }));
  },
};

rmSync(outdir, { recursive: true, force: true });
const result = await build({
  entryPoints: { 'browsers-unbounded': join(root, 'components/widget.ts') },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022', 'chrome109', 'firefox115', 'safari16'],
  minify: true,
  sourcemap: true,
  legalComments: 'linked',
  chunkNames: 'chunks/[name]-[hash]',
  metafile: true,
  logLevel: 'warning',
  plugins: [noGlobalStyles, unusedLayers, compactCss],
});

if (process.argv.includes('--metafile'))
  writeFileSync(join(outdir, 'meta.json'), JSON.stringify(result.metafile));

/** The widget with Lit, PeerJS and the mesh runtime, but without the globe (issue budget). */
const WIDGET_BUDGET_GZIP = 60 * 1024;

const outputs = result.metafile.outputs;
const rows = Object.keys(outputs)
  .filter((file) => file.endsWith('.js'))
  .map((file) => {
    const bytes = readFileSync(join(root, file));
    const inputs = Object.keys(outputs[file]?.inputs ?? {});
    return {
      file: file.replace(/^dist\/widget\//, ''),
      raw: bytes.length,
      gzip: gzipSync(bytes, { level: 9 }).length,
      // The globe chunk is the one built from globe-scene.ts (with globe.gl and three).
      globe: inputs.some((input) => input.endsWith('components/globe-scene.ts')),
      // Static imports only: the globe must be reachable by dynamic import alone.
      imports: (outputs[file]?.imports ?? [])
        .filter((i) => i.kind === 'import-statement')
        .map((i) => i.path.replace(/^dist\/widget\//, '')),
    };
  });
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
for (const { file, raw, gzip, globe } of rows)
  console.log(
    `${basename(file).padEnd(44)} ${kib(raw).padStart(10)} ${kib(gzip).padStart(10)} gzip${globe ? '  (globe, lazy)' : ''}`,
  );
const widgetGzip = rows.filter((r) => !r.globe).reduce((sum, r) => sum + r.gzip, 0);
console.log(
  `widget without the globe: ${kib(widgetGzip)} gzip (budget ${kib(WIDGET_BUDGET_GZIP)})`,
);
writeFileSync(
  join(outdir, 'sizes.json'),
  JSON.stringify({ budget: WIDGET_BUDGET_GZIP, widgetGzip, files: rows }, null, 2) + '\n',
);
if (widgetGzip > WIDGET_BUDGET_GZIP) {
  console.error('the widget is over its size budget');
  process.exitCode = 1;
}
