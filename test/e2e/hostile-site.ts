/**
 * The origins of the hostile-page suite (test/e2e/hostile-page.e2e.test.ts), all of them origin
 * witnesses (origin-witness.ts), so every connection they accept names the process that opened
 * it:
 *
 * - on 127.0.0.2, `main` is the hostile site: its page, its script (fixtures/hostile-escapes.ts,
 *   bundled here), a page with raw absolute URLs all through its markup, and `/account`; and
 *   each escape has two origins of its own, so whatever reaches one names the escape (even a
 *   bare connection, and with no socket of an earlier escape to reuse): `a-ID`, which the
 *   egress may reach (the escape must arrive through the egress or not at all), and `f-ID`,
 *   which it may not (nothing may arrive at all);
 * - on 127.0.0.3 (another cookie site: cookies ignore ports), `main` is the victim, a site the
 *   user is logged in to: `/` sets a plain and an HttpOnly cookie and keeps something in
 *   localStorage and IndexedDB; `benign` is a page with nothing on it, to show that Browse still
 *   works (on another site than the hostile page, which may fill its own site's cookie jar).
 *
 * Every request for `/account`, on either site, has its Cookie header recorded.
 */
import { build } from 'esbuild';
import {
  startWitnessOrigins,
  type RouteRequest,
  type RouteResponse,
  type WitnessOrigin,
  type WitnessOrigins,
} from './origin-witness.ts';

export const HOSTILE_HOST = '127.0.0.2';
export const VICTIM_HOST = '127.0.0.3';

export interface CookieRecord {
  readonly site: 'hostile' | 'victim';
  /** Path and query. */
  readonly path: string;
  /** The Cookie header as the origin got it ('' for none). */
  readonly cookie: string;
}

export interface HostileSites {
  /** 127.0.0.2: `main` (the hostile site), and `a-ID`, `f-ID` for each escape. */
  readonly witness: WitnessOrigins;
  /** 127.0.0.3: `main` (the victim), `benign`. */
  readonly victimWitness: WitnessOrigins;
  readonly hostile: WitnessOrigin;
  readonly victim: WitnessOrigin;
  /** `/` is a benign page, on another cookie site than the hostile one. */
  readonly benign: WitnessOrigin;
  /** The two origins of one escape. */
  targets(id: string): { readonly allowed: WitnessOrigin; readonly forbidden: WitnessOrigin };
  /** Every `/account` request, in order. */
  readonly cookies: readonly CookieRecord[];
  /** `host:port` entries for the egress's allow list: everything but the `f-ID` origins. */
  readonly allow: readonly string[];
  close(): Promise<void>;
}

const HTML = { 'content-type': 'text/html; charset=utf-8' };

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const HOSTILE_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>hostile</title></head><body>
<h1 id="name">hostile</h1>
<script src="/hostile.js"></script>
</body></html>`;

const BENIGN_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>benign</title></head><body>
<h1 id="name">benign</h1><p>Nothing to see here.</p>
</body></html>`;

/** The victim's front page: its cookies come with the response; storage is filled by script. */
const VICTIM_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>victim</title></head><body>
<h1 id="name">victim</h1><p id="ready"></p>
<script>
  localStorage.setItem('victim-ls', 'victim secret');
  const open = indexedDB.open('victim-db', 1);
  open.onupgradeneeded = () => open.result.createObjectStore('secrets');
  open.onsuccess = () => {
    const tx = open.result.transaction('secrets', 'readwrite');
    tx.objectStore('secrets').put('victim secret', 'key');
    tx.oncomplete = () => { document.getElementById('ready').textContent = 'ready'; };
  };
</script></body></html>`;

const accountPage = (name: string, cookie: string): string =>
  `<!doctype html><meta charset="utf-8"><title>${name} account</title>
<h1 id="name">${name} account</h1><p id="state">${cookie === '' ? 'logged out' : 'logged in'}</p>`;

/**
 * A page whose markup is full of raw absolute URLs of the forbidden (`f`) and allowed (`a`)
 * origins; the hub's HTML rewriter must leave none of them reaching the network: every element
 * and attribute that loads something, resource hints, `<base>`, a meta refresh, `srcdoc`, a
 * ping and a form the page's own script sends.
 */
function markupPage(request: RouteRequest): RouteResponse {
  const part = (base: string, tag: string): string => {
    const u = (what: string, as = 'text'): string =>
      escape(`${base}&via=markup-${tag}-${what}&as=${as}`);
    const origin = escape(new URL(base).origin);
    return `
<link rel="preconnect" href="${origin}"><link rel="dns-prefetch" href="${origin}">
<link rel="prefetch" href="${u('prefetch')}"><link rel="preload" as="image" href="${u('preload', 'img')}">
<link rel="modulepreload" href="${u('modulepreload', 'js')}"><link rel="stylesheet" href="${u('stylesheet', 'css')}">
<link rel="icon" href="${u('icon', 'img')}"><link rel="manifest" href="${u('manifest')}">
<style>@import url("${u('import', 'css')}");
.bg-${tag}{background:image-set(url("${u('image-set', 'img')}") 1x)}
@font-face{font-family:f-${tag};src:url("${u('font', 'font')}")} .font-${tag}{font-family:f-${tag}}</style>
<script src="${u('script', 'js')}"></script>
<p class="bg-${tag} font-${tag}" style="background:url('${u('inline-style', 'img')}')">x</p>
<img src="${u('img', 'img')}"><img srcset="${u('srcset', 'img')} 1x">
<picture><source srcset="${u('source', 'img')}"><img alt=""></picture>
<video src="${u('video', 'media')}" poster="${u('poster', 'img')}" preload="auto"><track default src="${u('track')}"></video>
<audio src="${u('audio', 'media')}" preload="auto"></audio>
<object data="${u('object')}"></object><embed src="${u('embed')}">
<iframe src="${u('iframe')}"></iframe>
<iframe srcdoc="&lt;img src='${u('srcdoc-img', 'img')}'&gt;&lt;script&gt;fetch('${u('srcdoc-fetch')}')&lt;/script&gt;"></iframe>
<svg width="10" height="10"><image href="${u('svg-image', 'img')}" width="5" height="5"/><image xlink:href="${u('svg-xlink', 'img')}" width="5" height="5"/></svg>
<input type="image" src="${u('input-image', 'img')}" alt="">
<table background="${u('table-bg', 'img')}"><tr><td>x</td></tr></table>
<a class="ping" href="#pinged-${tag}" ping="${u('ping')}">ping</a>
<form class="post" method="post" action="${u('form')}" target="sink-${tag}"><input name="x" value="1"></form>
<iframe name="sink-${tag}"></iframe>`;
  };
  const f = request.url.searchParams.get('f') ?? '';
  const a = request.url.searchParams.get('a') ?? '';
  if (
    !/^http:\/\/[\d.]+:\d+\/leak\?case=[\w-]+$/.test(f) ||
    !/^http:\/\/[\d.]+:\d+\/leak\?case=[\w-]+$/.test(a)
  ) {
    return { status: 400, headers: HTML, body: 'bad targets' };
  }
  return {
    headers: HTML,
    body: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>markup</title>
<base href="${escape(new URL(f).origin)}/leak/">
<meta http-equiv="refresh" content="2;url=${escape(`${f}&via=markup-refresh`)}">
</head><body>${part(f, 'forbidden')}${part(a, 'allowed')}
<script>
  for (const link of document.querySelectorAll('a.ping')) link.click();
  setTimeout(() => { for (const form of document.querySelectorAll('form.post')) form.submit(); }, 300);
</script></body></html>`,
  };
}

/** 1×1 transparent GIF. */
const GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

/** What `/leak` answers, by `as`: something a browser would take, were it ever to get there. */
function leak(request: RouteRequest): RouteResponse {
  switch (request.url.searchParams.get('as')) {
    case 'img':
      return { headers: { 'content-type': 'image/gif' }, body: GIF };
    case 'css':
      return { headers: { 'content-type': 'text/css' }, body: 'body{}' };
    case 'js':
      return { headers: { 'content-type': 'text/javascript' }, body: '/* leak */' };
    default:
      return { headers: { 'content-type': 'text/plain' }, body: 'leak' };
  }
}

/** Answers after 20 s: a request that holds a stream through the mesh meanwhile. */
function slow(): Promise<RouteResponse> {
  return new Promise((resolve) => {
    setTimeout(
      () => resolve({ headers: { 'content-type': 'text/plain' }, body: 'slow' }),
      20_000,
    ).unref();
  });
}

async function bundleEscapes(): Promise<string> {
  const result = await build({
    entryPoints: [new URL('./fixtures/hostile-escapes.ts', import.meta.url).pathname],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  const text = result.outputFiles[0]?.text;
  if (text === undefined) throw new Error('esbuild wrote nothing for hostile-escapes.ts');
  return text;
}

/** A forbidden origin's name: nothing may ever connect to one. */
export const isForbidden = (origin: string): boolean => origin.startsWith('f-');

export async function startHostileSites(escapes: readonly string[]): Promise<HostileSites> {
  const script = await bundleEscapes();
  const cookies: CookieRecord[] = [];
  const account =
    (site: CookieRecord['site']) =>
    (request: RouteRequest): RouteResponse => {
      const header = request.headers.cookie ?? '';
      cookies.push({ site, path: `${request.url.pathname}${request.url.search}`, cookie: header });
      return { headers: HTML, body: accountPage(site, header) };
    };
  const witness = await startWitnessOrigins({
    host: HOSTILE_HOST,
    content: {
      routes: {
        '/': { headers: HTML, body: HOSTILE_PAGE },
        '/hostile.js': { headers: { 'content-type': 'text/javascript' }, body: script },
        '/markup': markupPage,
        '/account': account('hostile'),
      },
    },
    sites: {
      ...Object.fromEntries(
        escapes.flatMap((id) => [
          [`a-${id}`, { routes: { '/leak': leak, '/slow': slow } }],
          [`f-${id}`, { routes: { '/leak': leak, '/slow': slow } }],
        ]),
      ),
    },
  });
  const victimWitness = await startWitnessOrigins({
    host: VICTIM_HOST,
    content: {
      routes: {
        '/': {
          headers: {
            ...HTML,
            'set-cookie': ['victim=1; Path=/', 'victim-secret=2; Path=/; HttpOnly'],
          },
          body: VICTIM_PAGE,
        },
        '/account': account('victim'),
      },
    },
    sites: { benign: { routes: { '/': { headers: HTML, body: BENIGN_PAGE } } } },
  });
  const origin = (w: WitnessOrigins, name: string): WitnessOrigin => {
    const found = w.origins[name];
    if (found === undefined) throw new Error(`no witness origin ${name}`);
    return found;
  };
  const hostile = origin(witness, 'main');
  const benign = origin(victimWitness, 'benign');
  const victim = origin(victimWitness, 'main');
  return {
    witness,
    victimWitness,
    hostile,
    victim,
    benign,
    targets: (id) => ({
      allowed: origin(witness, `a-${id}`),
      forbidden: origin(witness, `f-${id}`),
    }),
    cookies,
    allow: [
      ...hostile.allow,
      ...victim.allow,
      ...benign.allow,
      ...escapes.flatMap((id) => origin(witness, `a-${id}`).allow),
    ],
    async close() {
      await Promise.all([witness.close(), victimWitness.close()]);
    },
  };
}
