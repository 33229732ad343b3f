// The site's pages live in site/ and its static files in public/; the build
// goes to dist/site so it sits beside the compiled Node code in dist/.
//
// Two build steps ride along (see docs/architecture.md, "The site"):
// - the widget bundle (components/build.mjs → dist/widget/) is copied to /widget/, so
//   pages load it as an ES module from the site's own origin, exactly as embedders do;
// - the service worker (sw/build.mjs) is bundled after the pages, with the list of
//   shell files to precache injected by workbox-build.
import { defineConfig } from 'astro/config';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync } from 'node:fs';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildServiceWorker } from './sw/build.mjs';

const root = fileURLToPath(new URL('./', import.meta.url));
const widgetDir = join(root, 'dist/widget');

function buildWidget() {
  execFileSync(process.execPath, [join(root, 'components/build.mjs')], { stdio: 'inherit' });
}

const TYPES = { '.js': 'text/javascript', '.map': 'application/json', '.txt': 'text/plain' };

/** @type {import('astro').AstroIntegration} */
const browsersUnbounded = {
  name: 'browsers-unbounded',
  hooks: {
    'astro:build:start': () => buildWidget(),
    'astro:build:done': async ({ dir }) => {
      const out = fileURLToPath(dir);
      cpSync(widgetDir, join(out, 'widget'), { recursive: true });
      await buildServiceWorker(out);
    },
    // `astro dev`: serve the widget bundle and the service worker from dist/.
    'astro:server:setup': ({ server }) => {
      if (!existsSync(join(widgetDir, 'browsers-unbounded.js'))) buildWidget();
      server.middlewares.use((req, res, next) => {
        const path = new URL(req.url ?? '/', 'http://x').pathname;
        if (!path.startsWith('/widget/')) return next();
        const file = normalize(join(widgetDir, path.slice('/widget/'.length)));
        if (!file.startsWith(widgetDir) || !existsSync(file)) return next();
        res.setHeader('content-type', TYPES[extname(file)] ?? 'application/octet-stream');
        res.end(readFileSync(file));
      });
    },
  },
};

export default defineConfig({
  srcDir: './site',
  publicDir: './public',
  outDir: './dist/site',
  trailingSlash: 'always',
  integrations: [browsersUnbounded],
});
