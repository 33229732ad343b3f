// bare-mux 2.1.9's own declarations re-export from extensionless paths ('./client'), which
// NodeNext resolution cannot follow; these restate the part of its API the front-end uses
// (dist/baretypes.d.ts and dist/client.d.ts of that version).
declare module '@mercuryworkshop/bare-mux' {
  export type BareHeaders = Record<string, string | string[]>;
  export interface TransferrableResponse {
    body: ReadableStream | ArrayBuffer | Blob | string;
    headers: BareHeaders;
    status: number;
    statusText: string;
  }
  export interface BareTransport {
    init: () => Promise<void>;
    ready: boolean;
    connect: (
      url: URL,
      protocols: string[],
      requestHeaders: BareHeaders,
      onopen: (protocol: string) => void,
      onmessage: (data: Blob | ArrayBuffer | string) => void,
      onclose: (code: number, reason: string) => void,
      onerror: (error: string) => void,
    ) => [(data: Blob | ArrayBuffer | string) => void, (code: number, reason: string) => void];
    request: (
      remote: URL,
      method: string,
      body: BodyInit | null,
      headers: BareHeaders,
      signal: AbortSignal | undefined,
    ) => Promise<TransferrableResponse>;
    meta: () => object;
  }
  export class BareMuxConnection {
    /** The URL of bare-mux's SharedWorker script. */
    constructor(workerPath: string);
    getTransport(): Promise<string>;
    /** The SharedWorker imports `path` and constructs its default export with `options`. */
    setTransport(path: string, options: unknown[]): Promise<void>;
  }
}
