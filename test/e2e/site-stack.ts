/**
 * For the site's end-to-end tests: the built site (dist/site), its site origins
 * (`<label>.localhost:PORT`) and the signaling service on one local HTTP server (signaling at
 * /signal/, as `bu serve` mounts it), an egress, and optionally Node volunteers. The site listens on 127.0.0.1 so that Chromium treats
 * it as a secure context (service workers need one); WebRTC still gathers candidates on
 * the namespace's 10.77.0.x interface.
 */
import { createAdmissionKey } from '../../server-kit/admission-keys.ts';
import { readFile, stat } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createGuardedServer } from '../../server-kit/http-boundary.ts';
import type { AddressInfo } from 'node:net';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEgressServer, type EgressServer } from '../../egress/server.ts';
import { bytesToBase64url } from '../../protocol/bytes.ts';
import { generateKeyPair } from '../../protocol/noise/crypto-suite.ts';
import { createLogger } from '../../server-kit/logger.ts';
import { createSignalingService, type SignalingService } from '../../signaling/service.ts';
import { serveHub, serveSitesConfig } from '../../cli/hub-page.ts';
import { createSiteHosts, loopbackHubs, type SiteHosts } from '../../cli/site-hosts.ts';
import { SITES_CONFIG } from '../../protocol/site-origins.ts';

export const SITE_DIR = fileURLToPath(new URL('../../dist/site/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

export interface SiteStack {
  readonly url: string;
  readonly egress: EgressServer;
  readonly signaling: SignalingService;
  close(): Promise<void>;
}

async function file(path: string): Promise<string | undefined> {
  const root = resolve(SITE_DIR);
  const full = resolve(root, `.${decodeURIComponent(path)}`);
  if (full !== root && !full.startsWith(root + sep)) return undefined;
  try {
    const info = await stat(full);
    if (info.isFile()) return full;
    if (info.isDirectory()) {
      const index = join(full, 'index.html');
      if ((await stat(index)).isFile()) return index;
    }
  } catch {
    return undefined;
  }
  return undefined;
}

export async function startSiteStack(options: { allow: string[] }): Promise<SiteStack> {
  const key = generateKeyPair();
  // Admission as deployed: the signaling server signs a token per match, the egress checks it.
  const admission = createAdmissionKey();
  const egress = await startEgressServer({
    admission: { keys: [admission.publicKey] },
    host: '127.0.0.1',
    port: 0,
    key,
    allow: options.allow,
    log: 'silent',
  });
  const signaling = createSignalingService({
    admission: { key: admission },
    path: '/signal/',
    geoip: false,
    allowSameIp: true,
    logger: createLogger('silent'),
    egresses: [
      {
        id: 'local',
        url: `ws://127.0.0.1:${egress.port}/`,
        publicKey: bytesToBase64url(key.publicKey),
      },
    ],
  });
  // Site origins (`<label>.localhost:PORT`), the hub's policy and /sites.json, as bu serve
  // has them; made once the port is known.
  const made: { sites?: SiteHosts } = {};
  const server: Server = createGuardedServer({
    async request(req, res, url) {
      const { sites } = made;
      if (sites?.matches(req)) return sites.handle(req, res, url);
      if (url.pathname === SITES_CONFIG) return serveSitesConfig(sites, req, res);
      if (url.pathname === '/browse/' && (await serveHub(SITE_DIR, sites, req, res))) return;
      if (signaling.handleRequest(req, res, url)) return;
      const found = await file(url.pathname);
      if (!found) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
        return;
      }
      res.writeHead(200, {
        'content-type': TYPES[extname(found)] ?? 'application/octet-stream',
        'cache-control': 'no-cache',
      });
      res.end(await readFile(found));
    },
    upgrade(req, socket, head, url) {
      if (!signaling.handleUpgrade(req, socket, head, url)) socket.destroy();
    },
    fault: (site, error) => signaling.fault(site, error),
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  made.sites = createSiteHosts({
    template: `http://{label}.localhost:${port}`,
    hubs: loopbackHubs('127.0.0.1', port),
    siteDir: SITE_DIR,
  });
  return {
    url: `http://127.0.0.1:${port}`,
    egress,
    signaling,
    async close() {
      await signaling.close();
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
      await egress.close();
    },
  };
}
