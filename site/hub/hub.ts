/**
 * The /browse/ page: registers the service worker, holds the `Consumer` (the WebRTC
 * connections to volunteers), answers the service worker's requests for /~/ over
 * MessagePorts, and drives the address bar, the buttons and the sandboxed frame.
 */
import { Consumer, type ConsumerStatus } from '../../mesh/consumer.ts';
import { asWireRequest, type WireHead } from '../../sw/hub-wire.ts';
import { receiveStream, sendStream } from '../../sw/port-stream.ts';
import { decodeProxyPath, encodeProxyPath } from '../../sw/proxy-url.ts';
import { CookieJar } from './cookie-jar.ts';
import { handleProxyRequest } from './proxy-handler.ts';
import { consumerTransport } from './transport.ts';

const $ = <T extends Element>(selector: string, type: new () => T): T => {
  const element = document.querySelector(selector);
  if (!(element instanceof type)) throw new Error(`the page has no ${selector}`);
  return element;
};

const frame = $('#bu-frame', HTMLIFrameElement);
const form = $('#bu-address', HTMLFormElement);
const input = $('#bu-url', HTMLInputElement);
const statusText = $('#bu-status', HTMLElement);
const volunteersText = $('#bu-volunteers', HTMLElement);
const egressText = $('#bu-egress', HTMLElement);
const throughputText = $('#bu-throughput', HTMLElement);
const offline = $('#bu-offline', HTMLElement);
const empty = $('#bu-empty', HTMLElement);

const site = location.origin;
let current: URL | undefined;
let bytes = 0;

// ---- the mesh ----------------------------------------------------------------------
const consumer = new Consumer({ signaling: new URL('/signal/', site).href, volunteers: 2 });
const transport = consumerTransport(consumer);
const jar = new CookieJar();
let started = false;

function showStatus(status: ConsumerStatus): void {
  volunteersText.textContent = String(status.volunteers);
  egressText.textContent = status.egress ?? '—';
  document.body.dataset['volunteers'] = String(status.volunteers);
  if (status.volunteers > 0) statusText.textContent = 'Connected through volunteers';
  else if (status.problem) statusText.textContent = `Looking for volunteers (${status.problem})`;
  else statusText.textContent = 'Looking for volunteers…';
}

consumer.on('status', showStatus);

async function start(): Promise<void> {
  if (started) return;
  if (!navigator.onLine) {
    showOffline(true);
    return;
  }
  statusText.textContent = 'Connecting to the signaling server…';
  try {
    await consumer.start();
    started = true;
    showOffline(false);
    showStatus(consumer.status);
  } catch (err) {
    showOffline(!navigator.onLine);
    statusText.textContent = `Cannot reach the signaling server (${err instanceof Error ? err.message : String(err)}); retrying…`;
    setTimeout(() => void start(), 5_000);
  }
}

function showOffline(isOffline: boolean): void {
  offline.hidden = !isOffline;
  document.body.dataset['offline'] = String(isOffline);
  if (isOffline) statusText.textContent = 'Offline';
}

addEventListener('online', () => {
  showOffline(false);
  void start();
});
addEventListener('offline', () => showOffline(true));

// ---- throughput ---------------------------------------------------------------------
function counted(body: ReadableStream<Uint8Array> | null): ReadableStream<Uint8Array> | null {
  if (body === null) return null;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        bytes += chunk.byteLength;
        controller.enqueue(chunk);
      },
    }),
  );
}

function formatRate(perSecond: number): string {
  if (perSecond < 1024) return `${perSecond} B/s`;
  if (perSecond < 1024 * 1024) return `${(perSecond / 1024).toFixed(1)} KiB/s`;
  return `${(perSecond / 1024 / 1024).toFixed(1)} MiB/s`;
}

setInterval(() => {
  throughputText.textContent = formatRate(bytes);
  bytes = 0;
}, 1_000);

// ---- requests from the service worker ----------------------------------------------
function answer(reply: MessagePort, head: WireHead, body: ReadableStream<Uint8Array> | null): void {
  reply.postMessage(head);
  void sendStream(reply, body);
}

function failure(reply: MessagePort, status: number, message: string): void {
  const html = `<!doctype html><meta charset="utf-8"><title>Browse</title><p>${message.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)}</p>`;
  answer(
    reply,
    {
      t: 'head',
      status,
      statusText: '',
      headers: [['content-type', 'text/html; charset=utf-8']],
    },
    new Response(html).body,
  );
}

navigator.serviceWorker?.addEventListener('message', (event: MessageEvent<unknown>) => {
  const request = asWireRequest(event.data);
  const [reply, upload] = event.ports;
  if (!request || !reply) return;
  const body = request.hasBody && upload ? counted(receiveStream(upload)) : null;
  handleProxyRequest(request, body, {
    transport,
    jar,
    siteOrigin: site,
    topLevel: () => current,
  }).then(
    (response) =>
      answer(
        reply,
        {
          t: 'head',
          status: response.status,
          statusText: response.statusText,
          headers: response.headers,
        },
        counted(response.body),
      ),
    (err: unknown) =>
      failure(
        reply,
        502,
        `Could not load ${request.url}: ${err instanceof Error ? err.message : String(err)}`,
      ),
  );
});
navigator.serviceWorker?.startMessages();

// ---- the address bar and the frame ---------------------------------------------------
function normalise(text: string): URL | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  try {
    const url = new URL(/^[a-z][a-z\d+.-]*:\/\//i.test(trimmed) ? trimmed : `https://${trimmed}`);
    return /^https?:$/.test(url.protocol) ? url : undefined;
  } catch {
    return undefined;
  }
}

async function go(target: URL): Promise<void> {
  await navigator.serviceWorker?.ready;
  current = target;
  input.value = target.href;
  empty.hidden = true;
  frame.hidden = false;
  frame.src = encodeProxyPath(target);
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const target = normalise(input.value);
  if (target) {
    // Closes a phone's on-screen keyboard, which would otherwise cover the page just opened.
    input.blur();
    void go(target);
  } else input.setCustomValidity('Enter a web address, like example.com');
  input.reportValidity();
});
input.addEventListener('input', () => input.setCustomValidity(''));

function framePage(): Window | undefined {
  return frame.contentWindow ?? undefined;
}

$('#bu-back', HTMLButtonElement).addEventListener('click', () => framePage()?.history.back());
$('#bu-forward', HTMLButtonElement).addEventListener('click', () => framePage()?.history.forward());
$('#bu-reload', HTMLButtonElement).addEventListener('click', () => framePage()?.location.reload());

function syncAddress(): void {
  let href: string | undefined;
  try {
    href = frame.contentWindow?.location.href;
  } catch {
    href = undefined; // not our origin: the CSP should have stopped that
  }
  const real = href === undefined ? undefined : decodeProxyPath(href, site);
  if (real) {
    current = real;
    if (document.activeElement !== input) input.value = real.href;
    document.title = `${frame.contentDocument?.title || real.host} · Browse`;
  }
}

frame.addEventListener('load', syncAddress);
addEventListener('message', (event: MessageEvent<unknown>) => {
  if (event.origin === site && event.source === frame.contentWindow) syncAddress();
});

// ---- start ---------------------------------------------------------------------------
async function boot(): Promise<void> {
  // The mesh does not need the service worker: connect while it registers.
  void start();
  if ('serviceWorker' in navigator) {
    try {
      await navigator.serviceWorker.register('/sw.js', { scope: '/' });
    } catch (err) {
      statusText.textContent = `The service worker could not start: ${err instanceof Error ? err.message : String(err)}`;
      return;
    }
  } else {
    statusText.textContent = 'This browser has no service workers; Browse cannot work here.';
    return;
  }
  const go_ = new URLSearchParams(location.search).get('go');
  const target = go_ === null ? undefined : normalise(go_);
  if (target) await go(target);
}

void boot();
