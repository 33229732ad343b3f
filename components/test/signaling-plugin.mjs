// A @web/test-runner plugin that runs a real signaling server beside the test pages, so that
// browser tests can drive mesh's real `Volunteer` (the volunteer contract suite). The server is
// bundled from the sources with esbuild when the test server starts (no `npm run build`
// needed), listens on a free loopback port, and its URL is served at SIGNALING_INFO_PATH.
// It also serves peerjs bundled (see `serve`).
import { build } from 'esbuild';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const SIGNALING_INFO_PATH = '/__bu/signaling.json';

const root = fileURLToPath(new URL('../../', import.meta.url));

export function signalingPlugin() {
  /** @type {{ url: string, close(): Promise<void> } | undefined} */
  let signaling;
  /** @type {Promise<string> | undefined} */
  let peerjs;
  return {
    name: 'bu-signaling',
    async serverStart() {
      // Inside node_modules, so that the bundle's bare imports (ws, prom-client) resolve.
      const dir = join(root, 'node_modules/.cache/bu-web-test-runner');
      mkdirSync(dir, { recursive: true });
      const outfile = join(dir, `signaling-${process.pid}.mjs`);
      await build({
        entryPoints: [join(root, 'signaling/server.ts')],
        outfile,
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        packages: 'external',
        logLevel: 'warning',
      });
      const { startSignalingServer } = await import(pathToFileURL(outfile).href);
      rmSync(outfile, { force: true });
      signaling = await startSignalingServer({ host: '127.0.0.1', port: 0 });
    },
    async serverStop() {
      await signaling?.close();
    },
    async serve(context) {
      if (context.path === SIGNALING_INFO_PATH && signaling !== undefined)
        return { body: JSON.stringify({ url: signaling.url }), type: 'json' };
      // peerjs's ES module imports CommonJS (webrtc-adapter, sdp), which the test server
      // serves as is; the browser gets it bundled into one ES module, as the widget's build does.
      if (context.path.endsWith('/node_modules/peerjs/dist/bundler.mjs')) {
        peerjs ??= build({
          entryPoints: [join(root, 'node_modules/peerjs/dist/bundler.mjs')],
          bundle: true,
          write: false,
          format: 'esm',
          platform: 'browser',
          logLevel: 'warning',
        }).then((result) => result.outputFiles[0]?.text ?? '');
        return { body: await peerjs, type: 'js' };
      }
      return undefined;
    },
  };
}
