/**
 * The boot page of a site origin (`/~bu/boot?u=<real URL>&h=<hub origin>`): the only page the
 * server itself serves there. It checks that this origin is the one for `u`'s site and that
 * `h` is a hub the server named (a `<meta name="bu-hubs">` it wrote), registers the origin's
 * service worker, says hello to the hub, and goes to the page. Any other address that reaches
 * the server on a site origin (the worker is gone, or a hard reload skipped it) gets this page
 * without `u`, and asks the hub to open the page again.
 */
import { realUrlFor, sitePathFor } from './proxy-url.ts';
import {
  BOOT_PATH,
  isProxiableUrl,
  servesOrigin,
  type SitesConfig,
} from '../protocol/site-origins.ts';

const hubs = (document.querySelector('meta[name="bu-hubs"]')?.getAttribute('content') ?? '')
  .split(/\s+/)
  .filter((origin) => origin !== '');
const template = document.querySelector('meta[name="bu-sites"]')?.getAttribute('content') ?? '';
const config: SitesConfig = { template };
const query = new URLSearchParams(location.search);
/** How long a boot page waits to be claimed by its origin's new worker before it reloads. */
const CLAIM_WAIT_MS = 2_000;
/** How long registering and starting the worker may take before the page says it failed. */
const START_WAIT_MS = 15_000;

/** `promise`, or a failure saying the worker did not start when it takes over `ms`. */
function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(`its service worker did not start in ${ms / 1000} s. Reload to try again.`),
        ),
      ms,
    );
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

function show(text: string): void {
  const status = document.getElementById('bu-boot-status');
  if (status) status.textContent = text;
}

/** The hub this page may talk to: the one named in the address, if the server lists it. */
function hubOrigin(): string | undefined {
  const named = query.get('h') ?? location.ancestorOrigins?.[location.ancestorOrigins.length - 1];
  return named !== undefined && hubs.includes(named) ? named : undefined;
}

async function boot(): Promise<void> {
  const hub = hubOrigin();
  const raw = location.pathname === BOOT_PATH ? query.get('u') : null;
  if (hub === undefined || window.top === window) {
    show('This page opens only inside Browse.');
    return;
  }
  if (raw === null) {
    // Not through the worker: ask the hub to open this address again, properly.
    const lost = realUrlFor(location.href, { site: location.origin, proxied: '' });
    window.top?.postMessage({ type: 'bu-site-lost', path: lost?.href ?? null }, hub);
    show('Reopening…');
    return;
  }
  let target: URL;
  try {
    target = new URL(raw);
  } catch {
    show('This is not a web address Browse can open.');
    return;
  }
  if (!isProxiableUrl(target) || !servesOrigin(config, location.origin, target.origin)) {
    show('This address belongs to another site origin.');
    return;
  }
  answerPortRequests(hub, target.origin);
  const script = new URL(
    `/~bu/sw.js?${new URLSearchParams({ o: target.origin, h: hub }).toString()}`,
    location.origin,
  ).href;
  // The worker is registered once per origin. register() again only when it is not the one
  // running: Chromium queues register() behind the update check it starts after navigations,
  // and that check can hang for minutes (seen in the hostile-page test), leaving the page at
  // "Opening…"; getRegistration() is never queued.
  const existing = await navigator.serviceWorker.getRegistration('/');
  if (existing?.active?.scriptURL !== script || existing.scope !== `${location.origin}/`) {
    await within(navigator.serviceWorker.register(script, { scope: '/' }), START_WAIT_MS);
  }
  await within(navigator.serviceWorker.ready, START_WAIT_MS);
  if (navigator.serviceWorker.controller === null) {
    // The worker claims the pages open when it activates. A page that loaded after that (two
    // boot pages of one origin at once, e.g. the hub replaced a stuck frame) was never
    // claimed: loaded again, it is controlled from the start.
    const claimed = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), CLAIM_WAIT_MS);
      navigator.serviceWorker.addEventListener(
        'controllerchange',
        () => {
          clearTimeout(timer);
          resolve(true);
        },
        { once: true },
      );
    });
    if (!claimed) {
      if (query.has('again')) {
        show('Browse could not start this site. Reload to try again.');
        return;
      }
      const again = new URL(location.href);
      again.searchParams.set('again', '1');
      location.replace(again.href);
      return;
    }
  }
  await forgetOldHub();
  window.top?.postMessage({ type: 'bu-site-hello', url: target.href }, hub);
  location.replace(sitePathFor(target, { site: location.origin, proxied: target.origin }));
}

/**
 * Tells the worker to drop the port it may hold to an earlier hub (this boot may come from a
 * new one), and waits until it has, so the page's own request asks this hub at once.
 */
async function forgetOldHub(): Promise<void> {
  const controller = navigator.serviceWorker.controller;
  if (controller === null) return;
  const channel = new MessageChannel();
  const done = new Promise<void>((resolve) => {
    channel.port1.onmessage = () => resolve();
    setTimeout(resolve, 1_000);
  });
  controller.postMessage({ type: 'bu-new-hub' }, [channel.port2]);
  await done;
}

/** The worker's first request (the page itself) needs a port to the hub: pass one on. */
function answerPortRequests(hub: string, proxied: string): void {
  navigator.serviceWorker.addEventListener('message', (event: MessageEvent<unknown>) => {
    const data = event.data;
    const [port] = event.ports;
    if (typeof data !== 'object' || data === null || !('type' in data) || port === undefined) {
      return;
    }
    if (data.type === 'bu-need-port') {
      window.top?.postMessage({ type: 'bu-port', origin: proxied }, hub, [port]);
    }
  });
  navigator.serviceWorker.startMessages();
}

void boot().catch((err: unknown) => {
  show(`Browse could not open this page: ${err instanceof Error ? err.message : String(err)}`);
});
