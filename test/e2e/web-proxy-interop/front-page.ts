/**
 * The web proxy's front page, as Ultraviolet-App's is: registers Ultraviolet's service
 * worker, points bare-mux's SharedWorker at the epoxy transport and the Wisp server named
 * by `?wisp=` (Wisp v2 with `&v2=1`), and browses in an iframe, so this page stays the
 * client the service worker asks for a bare-mux port. Exposes `window.webProxy` to the
 * test. Bundled by front-end.ts, with bare-mux left as its own module; uv.bundle.js and
 * uv.config.js are loaded before it.
 */
import { BareMuxConnection } from '@mercuryworkshop/bare-mux';
import type { ProxiedView, WebProxyPage } from './page-api.ts';
import type { AdapterOptions } from './transport-adapter.ts';

declare global {
  /** Set by uv.config.js (stock, from the package). */
  var __uv$config: { prefix: string; encodeUrl(url: string): string };
}

function frame(): HTMLIFrameElement {
  const element = document.getElementById('proxy');
  if (!(element instanceof HTMLIFrameElement)) throw new Error('no #proxy iframe');
  return element;
}

function view(): ProxiedView | null {
  const doc = frame().contentDocument;
  if (doc === null || doc.readyState !== 'complete') return null;
  const greeting = doc.getElementById('greeting');
  // `doc.images` and `doc.links` are typed; `instanceof` fails across the iframe's realm.
  const image = doc.images.namedItem('image');
  return {
    href: doc.location.href,
    title: doc.title,
    greeting: greeting?.textContent ?? null,
    greetingColor:
      greeting === null ? null : (doc.defaultView?.getComputedStyle(greeting).color ?? null),
    scripted: doc.getElementById('scripted')?.textContent ?? null,
    imageSize:
      image !== null && image.complete && image.naturalWidth > 0
        ? [image.naturalWidth, image.naturalHeight]
        : null,
  };
}

async function setUp(): Promise<void> {
  const query = new URL(location.href).searchParams;
  const wisp = query.get('wisp');
  if (wisp === null) throw new Error('the front page needs ?wisp=');
  const options: AdapterOptions = { wisp, wisp_v2: query.get('v2') === '1' };
  await navigator.serviceWorker.register('/sw.js', { scope: '/' });
  await navigator.serviceWorker.ready;
  const connection = new BareMuxConnection('/baremux/worker.js');
  await connection.setTransport('/epoxy/bare-mux-adapter.js', [options]);
}

const page: WebProxyPage = {
  open(url) {
    const proxied = __uv$config.prefix + __uv$config.encodeUrl(url);
    frame().src = proxied;
    return proxied;
  },
  view,
  clickLink() {
    const link = frame().contentDocument?.links.namedItem('next');
    if (link === undefined || link === null) throw new Error('no #next link in the frame');
    link.click();
  },
};
(window as unknown as { webProxy: WebProxyPage }).webProxy = page;

setUp().then(
  () => (document.title = 'ready'),
  (error: unknown) => (document.title = `failed: ${String(error)}`),
);
