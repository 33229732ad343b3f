/**
 * The web proxy's front-end on 127.0.0.1, port 0, laid out as Ultraviolet-App serves it:
 * Ultraviolet's dist files at the root (so its stock uv.config.js and sw.js work
 * unchanged, prefix `/service/`), bare-mux under `/baremux/`, epoxy-transport and our
 * header adapter under `/epoxy/`, and the front page. One server per case: each is its own
 * origin, with its own service worker and bare-mux SharedWorker (which holds the transport).
 */
import { build, type Plugin } from 'esbuild';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { serveFiles, type ServedFile } from '../file-server.ts';

const modules = new URL('../../../node_modules/', import.meta.url);
const JS = 'text/javascript; charset=utf-8';

/** URL path → file in node_modules, all JavaScript. */
const VENDOR: Record<string, string> = {
  '/uv.bundle.js': '@titaniumnetwork-dev/ultraviolet/dist/uv.bundle.js',
  '/uv.client.js': '@titaniumnetwork-dev/ultraviolet/dist/uv.client.js',
  '/uv.config.js': '@titaniumnetwork-dev/ultraviolet/dist/uv.config.js',
  '/uv.handler.js': '@titaniumnetwork-dev/ultraviolet/dist/uv.handler.js',
  '/uv.sw.js': '@titaniumnetwork-dev/ultraviolet/dist/uv.sw.js',
  '/sw.js': '@titaniumnetwork-dev/ultraviolet/dist/sw.js',
  '/baremux/index.mjs': '@mercuryworkshop/bare-mux/dist/index.mjs',
  '/baremux/worker.js': '@mercuryworkshop/bare-mux/dist/worker.js',
  // The WASM is inlined in this bundle.
  '/epoxy/index.mjs': '@mercuryworkshop/epoxy-transport/dist/index.mjs',
};

/** Bare imports of the vendored packages become their URLs on this server. */
const vendorImports: Plugin = {
  name: 'vendor-imports',
  setup(b) {
    b.onResolve({ filter: /^@mercuryworkshop\/bare-mux$/ }, () => ({
      path: '/baremux/index.mjs',
      external: true,
    }));
    b.onResolve({ filter: /^@mercuryworkshop\/epoxy-transport$/ }, () => ({
      path: '/epoxy/index.mjs',
      external: true,
    }));
  },
};

async function bundle(entry: string): Promise<string> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL(entry, import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
    plugins: [vendorImports],
  });
  const text = result.outputFiles[0]?.text;
  if (text === undefined) throw new Error(`esbuild wrote nothing for ${entry}`);
  return text;
}

const FRONT_HTML = `<!doctype html><meta charset="utf-8"><title>loading</title>
<link rel="icon" href="data:,">
<script src="/uv.bundle.js"></script><script src="/uv.config.js"></script>
<script type="module" src="/front.js"></script>
<iframe id="proxy" style="width: 800px; height: 600px"></iframe>`;

export interface WebProxyFrontEnd {
  /** The front page for `wispUrl`: `http://127.0.0.1:PORT/?wisp=…&v2=…` */
  pageUrl(wispUrl: string, v2: boolean): string;
  /** Every path requested. */
  readonly requests: string[];
  close(): Promise<void>;
}

export async function startWebProxyFrontEnd(): Promise<WebProxyFrontEnd> {
  const [frontJs, adapterJs] = await Promise.all([
    bundle('./front-page.ts'),
    bundle('./transport-adapter.ts'),
  ]);
  const files = new Map<string, ServedFile>([
    ['/', { body: FRONT_HTML, type: 'text/html; charset=utf-8' }],
    ['/front.js', { body: frontJs, type: JS }],
    ['/epoxy/bare-mux-adapter.js', { body: adapterJs, type: JS }],
  ]);
  for (const [path, file] of Object.entries(VENDOR)) {
    files.set(path, { body: await readFile(new URL(file, modules)), type: JS });
  }
  const server = await serveFiles(files);
  return {
    pageUrl: (wispUrl, v2) => `${server.url}?wisp=${encodeURIComponent(wispUrl)}&v2=${v2 ? 1 : 0}`,
    requests: server.requests,
    close: () => server.close(),
  };
}
