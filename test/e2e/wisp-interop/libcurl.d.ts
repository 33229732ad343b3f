// libcurl.js 0.7.4 ships no types; these cover the part of its API the interop page uses
// (its README: "Making HTTP Requests", "Changing the Websocket Proxy URL").
declare module 'libcurl.js' {
  export interface LibcurlFetchInit {
    method?: string;
    body?: Uint8Array;
    headers?: Record<string, string>;
    /** 1.0, 1.1 or 2.0 (the default). */
    _libcurl_http_version?: number;
  }
  export const libcurl: {
    load_wasm(url: string): Promise<void>;
    /** Must end with a slash. */
    set_websocket(url: string): void;
    fetch(url: string, init?: LibcurlFetchInit): Promise<Response>;
    get_cacert(): string;
    transport: string;
    logger: (type: string, text: string) => void;
    stderr: (text: string) => void;
    readonly version: Record<string, string>;
  };
}
