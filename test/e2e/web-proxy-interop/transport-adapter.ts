/**
 * The bare-mux transport the front-end sets: @mercuryworkshop/epoxy-transport 3.0.1,
 * unmodified, behind a header-shape adapter. epoxy-transport 3 implements the newer
 * proxy-transports API, whose headers are `[name, value]` pairs, while bare-mux 2.1.9 (and
 * Ultraviolet 3.2.10, which reads `rawHeaders` with `for…in`) pass and expect a record of
 * `name → value | value[]`: without the adapter epoxy-transport's `for…of` over the record
 * throws (a TypeError) and Ultraviolet shows its "Error processing your request" page.
 * Bundled by front-end.ts with epoxy-transport left as its own module; bare-mux's
 * SharedWorker imports this file and constructs the default export with `AdapterOptions`.
 */
import type { BareHeaders, BareTransport, TransferrableResponse } from '@mercuryworkshop/bare-mux';
import EpoxyTransport from '@mercuryworkshop/epoxy-transport';

type RawHeaders = [string, string][];

/** The part of epoxy-transport's API used here, in proxy-transports' header shape. */
interface ProxyTransport {
  ready: boolean;
  init(): Promise<void>;
  request(
    remote: URL,
    method: string,
    body: BodyInit | null,
    headers: RawHeaders,
    signal: AbortSignal | undefined,
  ): Promise<{
    body: TransferrableResponse['body'];
    headers: RawHeaders;
    status: number;
    statusText: string;
  }>;
  connect(
    url: URL,
    protocols: string[],
    requestHeaders: RawHeaders,
    onopen: (protocol: string, extensions: string) => void,
    onmessage: (data: Blob | ArrayBuffer | string) => void,
    onclose: (code: number, reason: string) => void,
    onerror: (error: string) => void,
  ): [(data: Blob | ArrayBuffer | string) => void, (code: number, reason: string) => void];
}

/** What bare-mux passes to the constructor, from the front page's `setTransport`. */
export interface AdapterOptions {
  wisp: string;
  wisp_v2: boolean;
}

const Inner: new (options: AdapterOptions) => ProxyTransport = EpoxyTransport;

function toRaw(headers: BareHeaders): RawHeaders {
  return Object.entries(headers).flatMap(([name, value]) =>
    (Array.isArray(value) ? value : [value]).map((v): [string, string] => [name, v]),
  );
}

function toBare(headers: RawHeaders): BareHeaders {
  const record: BareHeaders = {};
  for (const [name, value] of headers) {
    const seen = record[name];
    record[name] = seen === undefined ? value : [seen, value].flat();
  }
  return record;
}

export default class EpoxyBareMuxTransport implements BareTransport {
  readonly #inner: ProxyTransport;

  constructor(options: AdapterOptions) {
    this.#inner = new Inner(options);
  }

  get ready(): boolean {
    return this.#inner.ready;
  }

  init(): Promise<void> {
    return this.#inner.init();
  }

  meta(): Record<string, never> {
    return {};
  }

  async request(
    remote: URL,
    method: string,
    body: BodyInit | null,
    headers: BareHeaders,
    signal: AbortSignal | undefined,
  ): Promise<TransferrableResponse> {
    const response = await this.#inner.request(remote, method, body, toRaw(headers), signal);
    return { ...response, headers: toBare(response.headers) };
  }

  connect(
    url: URL,
    protocols: string[],
    requestHeaders: BareHeaders,
    onopen: (protocol: string) => void,
    onmessage: (data: Blob | ArrayBuffer | string) => void,
    onclose: (code: number, reason: string) => void,
    onerror: (error: string) => void,
  ): [(data: Blob | ArrayBuffer | string) => void, (code: number, reason: string) => void] {
    return this.#inner.connect(
      url,
      protocols,
      toRaw(requestHeaders),
      (protocol) => onopen(protocol),
      onmessage,
      onclose,
      onerror,
    );
  }
}
