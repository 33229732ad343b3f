/**
 * The static server that gives Chromium the interop page and the clients' files, on
 * 127.0.0.1, port 0: the page bundled by esbuild with the two clients left as separate
 * modules under `/vendor/`, each served from node_modules with its MIME type
 * (`application/wasm` lets the clients compile while streaming). Nothing else is served.
 */
import { build, type Plugin } from 'esbuild';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { serveFiles, type FileServer, type ServedFile } from '../file-server.ts';

const modules = new URL('../../../node_modules/', import.meta.url);

/** URL path → file and MIME type. */
const VENDOR: Record<string, { file: URL; type: string }> = {
  '/vendor/epoxy/epoxy.js': {
    file: new URL('@mercuryworkshop/epoxy-tls/full/epoxy.js', modules),
    type: 'text/javascript; charset=utf-8',
  },
  '/vendor/epoxy/epoxy.wasm': {
    file: new URL('@mercuryworkshop/epoxy-tls/full/epoxy.wasm', modules),
    type: 'application/wasm',
  },
  '/vendor/libcurl/libcurl.mjs': {
    file: new URL('libcurl.js/libcurl.mjs', modules),
    type: 'text/javascript; charset=utf-8',
  },
  '/vendor/libcurl/libcurl.wasm': {
    file: new URL('libcurl.js/libcurl.wasm', modules),
    type: 'application/wasm',
  },
};

/** The page imports the clients by package name; the browser gets them from /vendor/. */
const vendorImports: Plugin = {
  name: 'vendor-imports',
  setup(b) {
    b.onResolve({ filter: /^@mercuryworkshop\/epoxy-tls\/epoxy$/ }, () => ({
      path: '/vendor/epoxy/epoxy.js',
      external: true,
    }));
    b.onResolve({ filter: /^libcurl\.js$/ }, () => ({
      path: '/vendor/libcurl/libcurl.mjs',
      external: true,
    }));
  },
};

const PAGE_HTML =
  '<!doctype html><meta charset="utf-8"><title>loading</title><script type="module" src="/page.js"></script>';

export type InteropSite = Omit<FileServer, 'port'>;

export async function startInteropSite(): Promise<InteropSite> {
  const bundle = await build({
    entryPoints: [fileURLToPath(new URL('./page.ts', import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
    plugins: [vendorImports],
  });
  const pageJs = bundle.outputFiles[0]?.text;
  if (pageJs === undefined) throw new Error('esbuild wrote nothing for page.ts');
  const files = new Map<string, ServedFile>([
    ['/', { body: PAGE_HTML, type: 'text/html; charset=utf-8' }],
    ['/page.js', { body: pageJs, type: 'text/javascript; charset=utf-8' }],
  ]);
  for (const [path, { file, type }] of Object.entries(VENDOR)) {
    files.set(path, { body: await readFile(file), type });
  }
  return serveFiles(files);
}
