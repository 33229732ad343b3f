/**
 * A small local site to try the chain with (`bu demo-site`), and the site the end-to-end tests
 * load through /browse/: relative and absolute links, CSS with url() and @import, an image, a
 * script using fetch() and XMLHttpRequest, a form POST, a redirect, a cookie set on one page
 * and read on the next, and a page that assigns location.href. Every request is logged with the
 * headers that tell a browser from the egress, so one can see who really asked.
 */
import type { IncomingMessage, Server } from 'node:http';
import { createGuardedServer } from '../server-kit/http-boundary.ts';
import type { AddressInfo } from 'node:net';

export interface DemoRequest {
  readonly method: string;
  readonly path: string;
  readonly userAgent: string;
  /** True when the request had `Sec-Fetch-*` headers: a browser asked directly, not the egress. */
  readonly secFetch: boolean;
  readonly cookie: string;
}

export interface DemoSite {
  readonly url: string;
  readonly port: number;
  readonly log: DemoRequest[];
  close(): Promise<void>;
}

export interface DemoSiteOptions {
  readonly host?: string;
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  /** Called for every request, after it is logged. */
  readonly onRequest?: (request: DemoRequest) => void;
}

/** Requests kept in `log`; older ones are dropped so a long-running demo stays small. */
const MAX_LOG = 1_000;
const MAX_FORM_BYTES = 4_096;

// A 1×1 PNG.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

function page(title: string, body: string, head = ''): string {
  return `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${title}</title>${head}</head><body>${body}</body></html>`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The form body, or null when it is over the limit. */
async function readForm(req: IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > MAX_FORM_BYTES) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function startDemoSite(options: DemoSiteOptions = {}): Promise<DemoSite> {
  const host = options.host ?? '127.0.0.1';
  const log: DemoRequest[] = [];
  let base = '';
  const server: Server = createGuardedServer({
    upgrade: (_req, socket) =>
      void socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n'),
    fault: (site, error) =>
      process.stderr.write(
        `demo-site: ${site} failed: ${error instanceof Error ? error.message : String(error)}\n`,
      ),
    request: (req, res, url) => {
      const entry: DemoRequest = {
        method: req.method ?? 'GET',
        path: url.pathname + url.search,
        userAgent: req.headers['user-agent'] ?? '',
        secFetch: Object.keys(req.headers).some((name) => name.startsWith('sec-fetch-')),
        cookie: req.headers.cookie ?? '',
      };
      log.push(entry);
      if (log.length > MAX_LOG) log.shift();
      options.onRequest?.(entry);
      const html = (text: string, headers: Record<string, string | string[]> = {}) =>
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', ...headers }).end(text);
      switch (url.pathname) {
        case '/':
          return html(
            page(
              'Demo home',
              `<h1 id="title">Demo home</h1>
<p>A local site for trying Browsers Unbounded. Each link exercises one thing the proxy must get right.</p>
<ul>
<li><a id="relative" href="second.html">A relative link</a> to a page that uses fetch() and XMLHttpRequest</li>
<li><a id="absolute" href="${base}/dir/third.html">An absolute link</a> to a form that POSTs</li>
<li><a href="/redirect">A redirect</a>, <a href="/set-cookie">a cookie</a>, <a href="/assign">a script that assigns location.href</a></li>
</ul>
<img id="pixel" src="/pixel.png" alt="pixel">
<div id="styled">This box is styled by CSS loaded with @import and url().</div>`,
              '<link rel="stylesheet" href="/style.css">',
            ),
          );
        case '/style.css':
          return res
            .writeHead(200, { 'content-type': 'text/css' })
            .end(
              '@import "imported.css";\n#styled{background:url(pixel.png?from=css);color:rgb(1, 2, 3)}',
            );
        case '/imported.css':
          return res
            .writeHead(200, { 'content-type': 'text/css' })
            .end('#title{color:rgb(4, 5, 6)}');
        case '/pixel.png':
          return res.writeHead(200, { 'content-type': 'image/png' }).end(PNG);
        case '/second.html':
          return html(
            page(
              'Second',
              `<h1>Second</h1><p id="fetch">…</p><p id="xhr">…</p>
<script>
fetch('/api/data').then(r => r.json()).then(j => { document.getElementById('fetch').textContent = 'fetch:' + j.value; });
const x = new XMLHttpRequest(); x.open('GET', '${base}/api/data?via=xhr');
x.onload = () => { document.getElementById('xhr').textContent = 'xhr:' + JSON.parse(x.responseText).value; }; x.send();
</script>`,
            ),
          );
        case '/api/data':
          return res
            .writeHead(200, { 'content-type': 'application/json' })
            .end(JSON.stringify({ value: url.searchParams.get('via') ?? 'plain' }));
        case '/dir/third.html':
          return html(
            page(
              'Third',
              `<h1>Third</h1><form id="form" method="post" action="../submit"><input name="who" value="tester"><button id="send">Send</button></form>`,
            ),
          );
        case '/submit':
          if (req.method !== 'POST') return res.writeHead(405, { allow: 'POST' }).end();
          return void readForm(req).then(
            (body) => {
              if (body === null) res.writeHead(413).end();
              else res.writeHead(303, { location: `/posted?${body}` }).end();
            },
            () => res.destroy(),
          );
        case '/posted':
          return html(
            page(
              'Posted',
              `<h1 id="posted">posted ${escapeHtml(url.searchParams.get('who') ?? '')}</h1>`,
            ),
          );
        case '/redirect':
          return res.writeHead(302, { location: '/second.html' }).end();
        case '/set-cookie':
          return html(page('Set', '<h1>cookie set</h1><a id="next" href="/read-cookie">next</a>'), {
            'set-cookie': ['flavour=oat; Path=/; HttpOnly', 'gone=1; Max-Age=0'],
          });
        case '/read-cookie':
          return html(
            page(
              'Read',
              `<h1 id="cookie">cookie: ${escapeHtml(req.headers.cookie ?? 'none')}</h1>`,
            ),
          );
        case '/assign':
          return html(
            page(
              'Assign',
              `<h1>assign</h1><script>setTimeout(() => { location.href = '${base}/second.html?assigned=1'; }, 50);</script>`,
            ),
          );
        default:
          return res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      }
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  base = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    url: base,
    port,
    log,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}
