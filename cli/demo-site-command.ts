import { startDemoSite, type DemoRequest } from './demo-site.ts';
import { CliError, type Command } from './command.ts';
import { errorText, flagHelp, parseFlags, type Flag } from './flags.ts';
import { untilSignal } from './signals.ts';

const FLAGS: readonly Flag[] = [
  { name: 'host', type: 'string', arg: 'HOST', help: 'address to listen on (127.0.0.1)' },
  { name: 'port', type: 'string', arg: 'PORT', help: 'port (3000); 0 picks a free one' },
];

function describe(request: DemoRequest): string {
  // Browsers add Sec-Fetch-* headers; the egress's HTTP client and curl do not.
  const who = request.secFetch ? 'a browser, directly' : 'not a browser (the egress, or curl)';
  return `${request.method} ${request.path}  ← ${who}`;
}

export const demoSite: Command = {
  summary: 'a small local site to try the proxy with (links, CSS, forms, cookies, redirects)',
  help: `Usage: bu demo-site [--host 127.0.0.1] [--port 3000]

Serves a small site on this machine that exercises what a proxy must get
right: links, CSS with @import and url(), fetch() and XMLHttpRequest, a form
POST, a redirect, cookies and a script that changes location. Each request is
printed with who made it, so you can see that pages opened through /browse/
or bu proxy are fetched by the egress, not by your browser.

The egress refuses loopback addresses unless told otherwise: start the server
with \`bu serve --allow 127.0.0.1:3000\` (or \`npm start -- --allow 127.0.0.1:3000\`).

${flagHelp(FLAGS)}`,

  async run(args) {
    const flags = parseFlags(args, FLAGS);
    const host = flags.text('host') ?? '127.0.0.1';
    const port = flags.integer('port', 0, 65535) ?? 3000;
    const stop = untilSignal();
    let site;
    try {
      site = await startDemoSite({
        host,
        port,
        onRequest: (request) => console.log(describe(request)),
      });
    } catch (err) {
      throw new CliError(`cannot listen on ${host}:${port}: ${errorText(err)}`);
    }
    console.log(`demo site on ${site.url}/`);
    console.log(`try it through the proxy: curl -x http://127.0.0.1:1080 ${site.url}/`);
    console.log(`or open http://127.0.0.1:8080/browse/ and go to ${site.url}/`);
    await stop.promise;
    await site.close();
    return 0;
  },
};
