/**
 * A volunteer in real Chromium for the chain bench, started without Playwright: Chromium is
 * spawned with the volunteer page's URL and nothing else. Playwright enables the DevTools
 * Network domain on every page it drives, and Chromium then copies every WebSocket frame
 * (all of the relayed bytes) to the automation client; that cost 10 ms of CPU per MiB in the
 * bench process alone, plus Chromium's side, which no real volunteer pays. The page
 * (volunteer-report-page.ts) reports its status by POSTing it here instead.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { SERVE_HOST } from '../../test/e2e/chain-harness.ts';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../test/e2e/chromium.ts';
import { stopChild } from './proc.ts';
import { descendants } from './process-tree.ts';

const PAGE_SOURCE = fileURLToPath(new URL('./volunteer-report-page.ts', import.meta.url));

export interface PageStatus {
  readonly state: string;
  readonly consumers: number;
  readonly errors: readonly string[];
}

function isPageStatus(value: unknown): value is PageStatus {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof Reflect.get(value, 'state') === 'string' &&
    typeof Reflect.get(value, 'consumers') === 'number' &&
    Array.isArray(Reflect.get(value, 'errors'))
  );
}

export interface VolunteerSite {
  /** The page's URL for a signaling server. */
  url(signaling: string): string;
  /** The newest status a page posted since the last `reset()`. */
  status(): PageStatus | undefined;
  reset(): void;
  close(): void;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 65_536) throw new RangeError(`status body: ${size} bytes`);
    chunks.push(chunk as Buffer);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

/** Bundles the page with esbuild and serves it from the namespace's address. */
export async function startVolunteerSite(): Promise<VolunteerSite> {
  const bundle = await build({
    entryPoints: [PAGE_SOURCE],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  const script = bundle.outputFiles[0]?.text ?? '';
  let latest: PageStatus | undefined;
  const server: Server = createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/status') {
      readJson(req).then(
        (value) => {
          if (isPageStatus(value)) latest = value;
          res.writeHead(204).end();
        },
        () => res.writeHead(400).end(),
      );
      return;
    }
    if (req.url?.startsWith('/volunteer.js')) {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(
      '<!doctype html><title>volunteer</title><script type="module" src="/volunteer.js"></script>',
    );
  });
  await new Promise<void>((resolve) => server.listen(0, SERVE_HOST, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (signaling) => `http://${SERVE_HOST}:${port}/?signaling=${encodeURIComponent(signaling)}`,
    status: () => latest,
    reset: () => (latest = undefined),
    close() {
      server.closeAllConnections();
      server.close();
    },
  };
}

export interface VolunteerBrowser {
  /** Chromium's browser process; its helpers are its descendants. */
  readonly pid: number;
  /** What the page reported as going wrong, for error messages. */
  errors(): readonly string[];
  close(): Promise<void>;
}

/** Starts headless Chromium on the volunteer page and waits until the volunteer is on. */
export async function launchVolunteerBrowser(
  site: VolunteerSite,
  signaling: string,
): Promise<VolunteerBrowser> {
  const profile = await mkdtemp(join(tmpdir(), 'bu-bench-chromium-'));
  site.reset();
  const child = spawn(
    CHROMIUM_PATH,
    [...CHROMIUM_ARGS, `--user-data-dir=${profile}`, site.url(signaling)],
    { stdio: 'ignore' },
  );
  const browser: VolunteerBrowser = {
    pid: child.pid ?? -1,
    errors: () => site.status()?.errors ?? [],
    async close() {
      // Chromium's helpers outlive the browser process briefly and may still write to the
      // profile: wait for them before removing it.
      const helpers = child.pid === undefined ? [] : descendants(child.pid, /./);
      await stopChild(child);
      const deadline = Date.now() + 5_000;
      while (helpers.some((pid) => existsSync(`/proc/${pid}`)) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await rm(profile, { recursive: true, force: true, maxRetries: 3 });
    },
  };
  const deadline = Date.now() + 60_000;
  while (site.status()?.state !== 'on') {
    if (child.exitCode !== null || Date.now() > deadline) {
      await browser.close();
      throw new Error(
        `the volunteer page did not come on (Chromium ${child.exitCode === null ? 'running' : `exited ${child.exitCode}`}): ${JSON.stringify(site.status())}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return browser;
}
