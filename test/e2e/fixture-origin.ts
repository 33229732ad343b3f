/**
 * A small test site for the proxy: relative and absolute links, CSS with url() and
 * @import, an image, a script using fetch() and XMLHttpRequest, a form POST, a redirect,
 * a cookie set on one page and read on the next, and a page that assigns location.href.
 * Every request is logged with the headers that tell a browser from the egress.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface OriginRequest {
  readonly method: string;
  readonly path: string;
  readonly userAgent: string;
  readonly secFetch: boolean;
  readonly cookie: string;
}

export interface FixtureOrigin {
  readonly url: string;
  readonly port: number;
  readonly log: OriginRequest[];
  close(): Promise<void>;
}

// A 1×1 PNG.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

function page(title: string, body: string, head = ''): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title>${head}</head><body>${body}</body></html>`;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startFixtureOrigin(host = '127.0.0.1'): Promise<FixtureOrigin> {
  const log: OriginRequest[] = [];
  let base = '';
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    log.push({
      method: req.method ?? 'GET',
      path: url.pathname + url.search,
      userAgent: req.headers['user-agent'] ?? '',
      secFetch: Object.keys(req.headers).some((name) => name.startsWith('sec-fetch-')),
      cookie: req.headers.cookie ?? '',
    });
    const html = (text: string, headers: Record<string, string | string[]> = {}) =>
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', ...headers }).end(text);
    switch (url.pathname) {
      case '/':
        return html(
          page(
            'Fixture home',
            `<h1 id="title">Fixture home</h1>
<p><a id="relative" href="second.html">second (relative)</a>
<a id="absolute" href="${base}/dir/third.html">third (absolute)</a></p>
<img id="pixel" src="/pixel.png" alt="pixel">
<div id="styled">styled</div>`,
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
        return res.writeHead(200, { 'content-type': 'text/css' }).end('#title{color:rgb(4, 5, 6)}');
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
        if (req.method !== 'POST') return res.writeHead(405).end();
        return void readBody(req).then((body) =>
          res.writeHead(303, { location: `/posted?${body}` }).end(),
        );
      case '/posted':
        return html(
          page('Posted', `<h1 id="posted">posted ${url.searchParams.get('who') ?? ''}</h1>`),
        );
      case '/redirect':
        return res.writeHead(302, { location: '/second.html' }).end();
      case '/set-cookie':
        return html(page('Set', '<h1>cookie set</h1><a id="next" href="/read-cookie">next</a>'), {
          'set-cookie': ['flavour=oat; Path=/; HttpOnly', 'gone=1; Max-Age=0'],
        });
      case '/read-cookie':
        return html(page('Read', `<h1 id="cookie">cookie: ${req.headers.cookie ?? 'none'}</h1>`));
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
  });
  await new Promise<void>((done) => server.listen(0, host, done));
  const { port } = server.address() as AddressInfo;
  base = `http://${host}:${port}`;
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
