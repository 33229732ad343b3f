/**
 * The interop page: runs one case through one WASM Wisp client, as a web proxy would use
 * it, and exposes `window.wispInterop.run`. Bundled by site.ts; the clients' own modules and
 * WASM stay separate files on the static server (`/vendor/…`), loaded as their users load them.
 */
import * as epoxy from '@mercuryworkshop/epoxy-tls/epoxy';
import { libcurl } from 'libcurl.js';
import {
  CONCURRENT_REQUESTS,
  UPLOAD_BYTES,
  UPLOAD_SEED,
  patternBytes,
  type CaseName,
  type CaseResult,
  type CaseRun,
  type CaseSettings,
  type InteropPage,
  type SocketRecord,
} from './cases.ts';

/**
 * Every WebSocket the clients open, recorded by a subclass installed as the global
 * `WebSocket` (both clients construct it by that name): what was offered and selected and
 * the server's first packet tell which Wisp version was spoken.
 */
const sockets: SocketRecord[] = [];
class RecordingWebSocket extends WebSocket {
  private readonly record: SocketRecord;

  constructor(url: string | URL, protocols?: string | string[]) {
    super(url, protocols);
    const record: SocketRecord = {
      url: String(url),
      offered: protocols === undefined ? [] : [protocols].flat(),
      selected: '',
      firstPacketType: null,
      closeCode: null,
      largestSent: 0,
    };
    this.record = record;
    sockets.push(record);
    this.addEventListener('open', () => (record.selected = this.protocol));
    this.addEventListener('message', (event: MessageEvent) => {
      if (record.firstPacketType !== null) return;
      const data: unknown = event.data;
      if (data instanceof ArrayBuffer) record.firstPacketType = new Uint8Array(data)[0] ?? null;
      else if (ArrayBuffer.isView(data))
        record.firstPacketType = new Uint8Array(data.buffer, data.byteOffset)[0] ?? null;
    });
    this.addEventListener('close', (event: CloseEvent) => (record.closeCode = event.code));
  }

  override send(data: string | ArrayBufferLike | Blob | ArrayBufferView): void {
    const size =
      typeof data === 'string' ? data.length : data instanceof Blob ? data.size : data.byteLength;
    this.record.largestSent = Math.max(this.record.largestSent, size);
    super.send(data);
  }
}
window.WebSocket = RecordingWebSocket;

// The package has no `"type": "module"`, so TypeScript reads its .d.ts as CommonJS and
// types `default` as the whole module; in the browser it is wasm-bindgen's init function.
const initEpoxy = epoxy.default as unknown as (input: { module_or_path: string }) => Promise<void>;

interface FetchInit {
  method?: string;
  body?: Uint8Array;
}

type ClientFetch = (url: string, init?: FetchInit) => Promise<Response>;

async function epoxyFetch(settings: CaseSettings): Promise<ClientFetch> {
  await initEpoxy({ module_or_path: '/vendor/epoxy/epoxy.wasm' });
  const options = new epoxy.EpoxyClientOptions();
  options.wisp_v2 = settings.v2;
  options.user_agent = navigator.userAgent;
  // epoxy-tls trusts its bundled webpki roots plus these PEM certificates.
  options.pem_files = [settings.caPem];
  const client = new epoxy.EpoxyClient(settings.wispUrl, options);
  return (url, init) => client.fetch(url, init ?? {});
}

async function libcurlFetch(settings: CaseSettings): Promise<ClientFetch> {
  if (settings.v2) throw new Error('libcurl.js 0.7.4 has no Wisp v2 mode');
  // libcurl.js trusts only its compiled-in Mozilla bundle: there is no option for another CA.
  libcurl.logger = () => undefined;
  libcurl.stderr = () => undefined;
  await libcurl.load_wasm('/vendor/libcurl/libcurl.wasm');
  libcurl.set_websocket(settings.wispUrl);
  return (url, init) => libcurl.fetch(url, init);
}

function hex(bytes: ArrayBuffer): string {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');
}

async function digest(res: Response): Promise<{ status: number; length: number; sha256: string }> {
  const body = await res.arrayBuffer();
  return {
    status: res.status,
    length: body.byteLength,
    sha256: hex(await crypto.subtle.digest('SHA-256', body)),
  };
}

async function text(res: Response): Promise<{ status: number; text: string }> {
  return { status: res.status, text: await res.text() };
}

const CASES: Record<CaseName, (fetch: ClientFetch, s: CaseSettings) => Promise<unknown>> = {
  http: async (fetch, s) => text(await fetch(`${s.httpOrigin}/hello`)),
  https: async (fetch, s) => text(await fetch(`${s.httpsOrigin}/hello`)),
  concurrent: (fetch, s) =>
    Promise.all(
      Array.from({ length: CONCURRENT_REQUESTS }, async (_, i) =>
        text(await fetch(`${s.httpOrigin}/n/${i}`)),
      ),
    ),
  download: async (fetch, s) => digest(await fetch(`${s.httpOrigin}/download`)),
  upload: async (fetch, s) => {
    const res = await fetch(`${s.httpOrigin}/upload`, {
      method: 'POST',
      body: patternBytes(UPLOAD_BYTES, UPLOAD_SEED),
    });
    return { status: res.status, received: JSON.parse(await res.text()) as unknown };
  },
  forbidden: async (fetch, s) => text(await fetch(`${s.forbiddenOrigin}/hello`)),
};

function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

async function run(name: CaseName, settings: CaseSettings): Promise<CaseRun> {
  const started = performance.now();
  const result = await runCase(name, settings);
  return { result, sockets, ms: Math.round(performance.now() - started) };
}

async function runCase(name: CaseName, settings: CaseSettings): Promise<CaseResult> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${settings.timeoutMs} ms`)),
      settings.timeoutMs,
    );
  });
  try {
    const work = (async () => {
      const fetch =
        settings.client === 'epoxy' ? await epoxyFetch(settings) : await libcurlFetch(settings);
      return CASES[name](fetch, settings);
    })();
    return { ok: true, value: await Promise.race([work, timeout]) };
  } catch (err) {
    return { ok: false, error: describeError(err) };
  } finally {
    clearTimeout(timer);
  }
}

const page: InteropPage = { run };
Object.assign(window, { wispInterop: page });
document.title = 'ready';
