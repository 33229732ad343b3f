/**
 * `bu sites`: the site origins of /browse/ on their own, for a deployment whose pages come from
 * a plain static file server (docs/running.md, "Standalone deployment"). Every proxied site
 * lives at `<label>.<sites domain>` (docs/architecture.md, "Site origins"), and those names
 * need what a static server cannot give: the boot page for every path, written for the hubs
 * the operator names, with its policy, and the site's service worker with
 * `Service-Worker-Allowed`. This serves exactly that (cli/site-hosts.ts, as `bu serve` does)
 * and nothing else.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isSitesTemplate } from '../protocol/site-origins.ts';
import { createGuardedServer } from '../server-kit/http-boundary.ts';
import { formatLogLine } from '../server-kit/logger.ts';
import { CliError, type Command } from './command.ts';
import { listen } from '../server-kit/listen.ts';
import { errorText, flagHelp, parseFlags, urlHost, type Flag } from './flags.ts';
import { untilSignal } from './signals.ts';
import { createSiteHosts } from './site-hosts.ts';

/** dist/site next to dist/cli, wherever the command is run from. */
const DEFAULT_SITE = fileURLToPath(new URL('../site/', import.meta.url));

const FLAGS: readonly Flag[] = [
  { name: 'host', type: 'string', arg: 'HOST', help: 'address to listen on (127.0.0.1)' },
  {
    name: 'port',
    type: 'string',
    arg: 'PORT',
    help: 'port (8090); browsers reach it at the port the template names',
  },
  {
    name: 'sites-origin',
    type: 'string',
    arg: 'TEMPLATE',
    help: "required: the site origins, e.g. https://{label}.sites.example.org (a wildcard DNS record and certificate for *.sites.example.org point here); the same template goes into the site's sites.json",
  },
  {
    name: 'hub',
    type: 'string',
    multiple: true,
    arg: 'ORIGIN',
    separator: 'comma',
    help: 'required, repeatable: an origin /browse/ is served at, e.g. https://bu.example.org; only these may frame the site origins',
  },
  {
    name: 'site',
    type: 'string',
    arg: 'DIR',
    help: "the built site, whose _bu/ holds the site origins' scripts (dist/site)",
  },
];

/** `https://bu.example.org` and nothing more: a scheme, a host, an optional port. */
function isOrigin(text: string): boolean {
  try {
    const url = new URL(text);
    return /^https?:$/.test(url.protocol) && url.origin === text;
  } catch {
    return false;
  }
}

export const sites: Command = {
  summary: 'serve the site origins of /browse/ (for a site on a plain static server)',
  help: `Usage: bu sites --sites-origin TEMPLATE --hub ORIGIN [OPTIONS]

Serves the site origins where /browse/ shows proxied sites, one origin each
(<label>.<sites domain>), when the site itself is on a plain static file
server. A request for a site origin gets that origin's boot page or its
scripts under /~bu/; any other Host is answered 404. \`bu serve\` does the same
on its own port and needs none of this.

Options (each also as the environment variable in brackets; a flag wins):
${flagHelp(FLAGS)}

On start it prints one JSON line on stdout ({"event":"listening","url":…,
"sitesOrigin":…,"hubs":[…]}). SIGINT or SIGTERM stops it. See docs/running.md,
"Standalone deployment".`,

  async run(args) {
    const flags = parseFlags(args, FLAGS);
    const host = flags.text('host') ?? '127.0.0.1';
    const port = flags.integer('port', 0, 65535) ?? 8090;
    const siteDir = flags.text('site') ?? DEFAULT_SITE;
    const template = flags.text('sites-origin');
    if (template === undefined) {
      throw new CliError('--sites-origin is required, e.g. https://{label}.sites.example.org', 2);
    }
    if (!isSitesTemplate(template)) {
      throw new CliError(
        '--sites-origin must look like https://{label}.sites.example.org (a scheme, {label} as the first label of the host, an optional port, nothing else)',
        2,
      );
    }
    const hubs = flags.list('hub') ?? [];
    if (hubs.length === 0) {
      throw new CliError('--hub is required: the origin /browse/ is served at', 2);
    }
    for (const hub of hubs) {
      if (!isOrigin(hub)) {
        throw new CliError(
          `--hub must be an origin such as https://bu.example.org (no path): ${JSON.stringify(hub)}`,
          2,
        );
      }
    }
    if (!existsSync(join(siteDir, '_bu', 'sw.js'))) {
      throw new CliError(
        `${siteDir} has no _bu/sw.js: build the site first (npm run build:site) or name it with --site`,
      );
    }
    const siteHosts = createSiteHosts({ template, hubs, siteDir });
    const server = createGuardedServer({
      async request(req, res, url) {
        if (siteHosts.matches(req)) return siteHosts.handle(req, res, url);
        res
          .writeHead(404, { 'content-type': 'text/plain; charset=utf-8' })
          .end('not a site origin of this server\n');
      },
      upgrade(_req, socket) {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      },
      fault(site, error) {
        console.error(formatLogLine('error', 'fault', { site, error: errorText(error) }));
      },
    });
    let boundPort: number;
    try {
      boundPort = await listen(server, host, port);
    } catch (err) {
      throw new CliError(`cannot listen on ${host}:${port}: ${errorText(err)}`);
    }
    // Listen for Ctrl-C before saying we listen: a caller may signal as soon as it reads that.
    const stopped = untilSignal();
    console.log(
      formatLogLine('info', 'listening', {
        url: `http://${urlHost(host)}:${boundPort}/`,
        sitesOrigin: template,
        hubs,
      }),
    );
    await stopped.promise;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return 0;
  },
};
