import { admissionIssuerFlags, admissionIssuing } from './admission-options.ts';
import { existsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Counter, Registry } from 'prom-client';
import { createEgressService, type EgressService } from '../egress/service.ts';
import { bytesToBase64url } from '../protocol/bytes.ts';
import { isSitesTemplate, SITES_CONFIG } from '../protocol/site-origins.ts';
import { createGuardedServer } from '../server-kit/http-boundary.ts';
import { SignalingError } from '../signaling/errors.ts';
import { createLogger, formatLogLine } from '../server-kit/logger.ts';
import { listenFlags, logLevelFlag, readListen, readLogLevel } from './common-flags.ts';
import { createSignalingService, type SignalingService } from '../signaling/service.ts';
import { CliError, type Command } from './command.ts';
import { listen } from '../server-kit/listen.ts';
import { EGRESS_FLAGS, egressPolicy, loadOrCreateKey } from './egress-options.ts';
import { errorText, flagHelp, parseFlags, urlHost, type Flag } from './flags.ts';
import { untilSignal } from './signals.ts';
import { SIGNALING_FLAGS, signalingOptions } from './signaling-options.ts';
import { createStaticSite, type StaticSite } from './static-site.ts';
import { serveHub, serveSitesConfig } from './hub-page.ts';
import { createSiteHosts, loopbackHubs, type SiteHosts } from './site-hosts.ts';

const DEFAULT_PORT = 8080;
const SIGNAL_PATH = '/signal/';
const HUB_PATH = '/browse/';
/** dist/site next to dist/cli, wherever the command is run from. */
const DEFAULT_SITE = fileURLToPath(new URL('../site/', import.meta.url));

const FLAGS: readonly Flag[] = [
  ...listenFlags(DEFAULT_PORT),
  {
    name: 'data-dir',
    type: 'string',
    arg: 'DIR',
    help: 'where the egress and admission keys are kept (egress-key.json, admission-key.json, mode 0600; created on first run) (.bu)',
  },
  {
    name: 'public-url',
    type: 'string',
    arg: 'URL',
    help: 'the ws:// or wss:// URL volunteers reach this server at, for the egress list (ws://HOST:PORT/)',
  },
  { name: 'site', type: 'string', arg: 'DIR', help: 'the built site to serve (dist/site)' },
  {
    name: 'sites-origin',
    type: 'string',
    arg: 'TEMPLATE',
    help: 'where /browse/ shows proxied sites, one origin each: e.g. https://{label}.sites.example.org (needs a wildcard DNS record and certificate); default http://{label}.localhost:PORT when listening on loopback, otherwise none and /browse/ refuses to open pages',
  },
  ...SIGNALING_FLAGS,
  ...admissionIssuerFlags('DIR/admission-key.json'),
  ...EGRESS_FLAGS,
  logLevelFlag(),
];

interface Services {
  readonly signaling: SignalingService;
  readonly egress: EgressService;
  readonly metrics: Registry;
  readonly site: StaticSite | undefined;
  /** The site origins of /browse/; undefined when there is no sites origin. */
  readonly sites: SiteHosts | undefined;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The page at `/` while the site is not built: honest about it, and useful. */
function notBuiltPage(base: string): string {
  const signal = `${base}${SIGNAL_PATH.slice(1)}`;
  const rows = [
    [`${signal}`, 'signaling: PeerJS server and matchmaking'],
    [`${signal}v1/config`, 'client config: ICE servers, egress list'],
    [`${base.replace(/^http/, 'ws')}wisp/`, 'egress: standard Wisp server (WebSocket)'],
    [`${base.replace(/^http/, 'ws')}tunnel/`, 'egress: encrypted tunnel endpoint (WebSocket)'],
    [`${base}metrics`, 'Prometheus metrics (signaling and egress)'],
  ]
    .map(
      ([url = '', what = '']) => `<li><code>${escapeHtml(url)}</code> — ${escapeHtml(what)}</li>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Browsers Unbounded</title>
<meta name="viewport" content="width=device-width,initial-scale=1"></head>
<body style="font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem">
<h1>Browsers Unbounded</h1>
<p>The site is not built, so there is no page to show here yet. Signaling and the egress
are running on this port:</p>
<ul>
${rows}
</ul>
<p>To relay and to browse through relays, from a terminal:</p>
<pre>npx bu volunteer --signaling ${escapeHtml(signal)}
npx bu proxy --signaling ${escapeHtml(signal)}
curl -x http://127.0.0.1:1080 http://example.org/</pre>
</body></html>
`;
}

function serveMetrics(registry: Registry, req: IncomingMessage, res: ServerResponse): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  registry.metrics().then(
    (text) => {
      res.writeHead(200, { 'content-type': registry.contentType });
      res.end(req.method === 'HEAD' ? undefined : text);
    },
    () => res.writeHead(500).end(),
  );
}

export const serve: Command = {
  summary: 'run everything on one port: the site, signaling (/signal/) and the egress',
  help: `Usage: bu serve [OPTIONS]

The embedded default: one process, one port. It serves the built site (when
there is one), the signaling server under ${SIGNAL_PATH}, the egress at /wisp/
and /tunnel/, and Prometheus metrics of both at /metrics. It creates the
egress key in the data directory on first run and lists itself in the egress
list as "local". Because everything runs on one machine, consumers may be
matched with volunteers at their own address and regardless of NAT type
(--allow-same-ip and --ignore-nat are on here; BU_ALLOW_SAME_IP=0 and
BU_IGNORE_NAT=0 turn them off).

Options (each also as the environment variable in brackets; a flag wins):
${flagHelp(FLAGS)}

On start it prints one JSON line on stdout ({"event":"listening","url":…,
"signaling":…,"publicKey":…}), then what is where and the commands to run
next. SIGINT or SIGTERM closes everything and exits 0. See docs/running.md.`,

  async run(args) {
    const flags = parseFlags(args, FLAGS);
    const { host, port } = readListen(flags, DEFAULT_PORT);
    const dataDir = flags.text('data-dir') ?? '.bu';
    const level = readLogLevel(flags);
    const policy = egressPolicy(flags);
    const signalingSettings = signalingOptions(flags, { allowSameIp: true, ignoreNat: true });
    const publicUrl = flags.text('public-url');
    const siteDir = flags.text('site') ?? DEFAULT_SITE;
    const sitesTemplate = flags.text('sites-origin');
    if (sitesTemplate !== undefined && !isSitesTemplate(sitesTemplate)) {
      throw new CliError(
        '--sites-origin must look like https://{label}.sites.example.org (a scheme, {label} as the first label of the host, an optional port, nothing else)',
        2,
      );
    }
    const keyFile = join(dataDir, 'egress-key.json');
    const { key, created } = await loadOrCreateKey(keyFile);
    if (created) console.error(`created ${keyFile}`);
    const admission = await admissionIssuing(flags, join(dataDir, 'admission-key.json'));
    if (admission.created) console.error(`created ${admission.file}`);

    let services: Services | undefined = undefined;
    // Faults of this process's own part (the site and the routing between the parts); the
    // signaling service and the egress count theirs in their own metrics.
    const ownMetrics = new Registry();
    const faults = new Counter({
      name: 'bu_serve_faults_total',
      help: 'Unexpected exceptions caught at an entry point of bu serve itself (each a bug)',
      labelNames: ['site'] as const,
      registers: [ownMetrics],
    });
    const serveLog = createLogger(level);
    const server = createGuardedServer({
      async request(req, res, url) {
        const ready = services;
        if (ready === undefined) {
          res.writeHead(503, { 'retry-after': '1' }).end();
          return;
        }
        if (ready.sites?.matches(req)) return ready.sites.handle(req, res, url);
        const path = url.pathname;
        if (path === '/metrics') return serveMetrics(ready.metrics, req, res);
        if (path === SITES_CONFIG) return serveSitesConfig(ready.sites, req, res);
        if (path === HUB_PATH || path === `${HUB_PATH}index.html`) {
          if (await serveHub(siteDir, ready.sites, req, res)) return;
        }
        if (ready.signaling.handleRequest(req, res, url)) return;
        if (ready.egress.handleRequest(req, res, url)) return;
        if (ready.site !== undefined && (await ready.site.handle(req, res, url))) return;
        if (path === '/' && (req.method === 'GET' || req.method === 'HEAD')) {
          const page = notBuiltPage(baseUrl);
          res.writeHead(ready.site === undefined ? 200 : 404, {
            'content-type': 'text/html; charset=utf-8',
          });
          res.end(req.method === 'HEAD' ? undefined : page);
          return;
        }
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      },
      upgrade(req, socket, head, url) {
        const ready = services;
        if (ready?.sites?.matches(req)) {
          socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
          return;
        }
        if (ready?.signaling.handleUpgrade(req, socket, head, url)) return;
        if (ready?.egress.handleUpgrade(req, socket, head, url)) return;
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      },
      fault(site, error) {
        faults.inc({ site });
        serveLog.error('fault', {
          site,
          error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        });
      },
      refused: (reason) => services?.signaling.refused(reason),
    });
    let boundPort: number;
    try {
      boundPort = await listen(server, host, port);
    } catch (err) {
      throw new CliError(`cannot listen on ${host}:${port}: ${errorText(err)}`);
    }
    // A wildcard address is not one a volunteer can dial; name this machine's loopback.
    const shownHost = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
    const baseUrl = `http://${urlHost(shownHost)}:${boundPort}/`;
    const egressUrl = publicUrl ?? baseUrl.replace(/^http/, 'ws');
    const publicKey = bytesToBase64url(key.publicKey);

    let signaling: SignalingService;
    let egress: EgressService;
    try {
      egress = createEgressService({
        key,
        log: level,
        admission: { keys: [admission.issuing.key.publicKey] },
        ...policy,
      });
      signaling = createSignalingService({
        ...signalingSettings,
        admission: admission.issuing,
        path: SIGNAL_PATH,
        logger: serveLog,
        egresses: [{ id: 'local', url: egressUrl, publicKey }],
      });
    } catch (err) {
      server.close();
      if (err instanceof SignalingError) throw new CliError(err.message, 2);
      throw new CliError(errorText(err), 2);
    }
    await signaling.ready;
    const siteBuilt = existsSync(join(siteDir, 'index.html'));
    const template =
      sitesTemplate ??
      (loopbackHubs(host, boundPort).length > 0
        ? `http://{label}.localhost:${boundPort}`
        : undefined);
    const hubs = [
      ...loopbackHubs(host, boundPort),
      ...(publicUrl === undefined ? [] : [new URL(publicUrl.replace(/^ws/, 'http')).origin]),
    ];
    services = {
      signaling,
      egress,
      metrics: Registry.merge([signaling.metrics, egress.metrics, ownMetrics]),
      site: siteBuilt ? createStaticSite(siteDir) : undefined,
      sites: template === undefined ? undefined : createSiteHosts({ template, hubs, siteDir }),
    };

    // Listen for Ctrl-C before saying we listen: a caller may signal as soon as it reads that.
    const stopped = untilSignal();
    const signalUrl = `${baseUrl}${SIGNAL_PATH.slice(1)}`;
    const wsBase = baseUrl.replace(/^http/, 'ws');
    console.log(
      formatLogLine('info', 'listening', {
        url: baseUrl,
        site: siteBuilt ? baseUrl : null,
        signaling: signalUrl,
        wisp: `${wsBase}wisp/`,
        tunnel: `${wsBase}tunnel/`,
        metrics: `${baseUrl}metrics`,
        egress: { id: 'local', url: egressUrl, publicKey },
        admissionKey: admission.publicKey,
      }),
    );
    console.log(`
bu serve: listening on ${baseUrl}
  site       ${siteBuilt ? baseUrl : `not built (${siteDir}); ${baseUrl} lists the endpoints`}
  signaling  ${signalUrl}
  egress     ${wsBase}wisp/ (Wisp), ${wsBase}tunnel/ (tunnel); public key ${publicKey}
  metrics    ${baseUrl}metrics
  egress key ${keyFile}
  admission  ${admission.file}; egresses elsewhere: bu egress --admission-key ${admission.publicKey}

Next, in two more terminals:
  npx bu volunteer --signaling ${signalUrl}
  npx bu proxy --signaling ${signalUrl}
then:
  curl -x http://127.0.0.1:1080 http://example.org/
  curl --socks5-hostname 127.0.0.1:1081 https://example.org/
Ctrl-C stops.`);

    await stopped.promise;
    await Promise.all([signaling.close(), egress.close()]);
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return 0;
  },
};
