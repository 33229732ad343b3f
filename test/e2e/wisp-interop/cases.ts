/**
 * What the interop page and the test agree on: the clients, the cases, their settings and
 * results. Bundled into the page, so nothing here may import Node modules.
 */

export type ClientName = 'epoxy' | 'libcurl';

export type CaseName = 'http' | 'https' | 'concurrent' | 'download' | 'upload' | 'forbidden';

export interface CaseSettings {
  readonly client: ClientName;
  /** The Wisp endpoint, e.g. `ws://127.0.0.1:1234/wisp/` (a trailing slash, as libcurl.js needs). */
  readonly wispUrl: string;
  /** Ask the client for Wisp v2 (epoxy-tls's `wisp_v2`); libcurl.js 0.7.4 speaks v1 only. */
  readonly v2: boolean;
  /** PEM of the test CA that signed the HTTPS origin's certificate. */
  readonly caPem: string;
  /** `http://127.0.0.1:PORT`, reachable through the Wisp server. */
  readonly httpOrigin: string;
  /** `https://127.0.0.1:PORT`, reachable through the Wisp server. */
  readonly httpsOrigin: string;
  /** `http://127.0.0.1:PORT` that the Wisp server must refuse to dial. */
  readonly forbiddenOrigin: string;
  /** Milliseconds before the page gives up on a case. */
  readonly timeoutMs: number;
}

export type CaseResult =
  { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: string };

export const DOWNLOAD_BYTES = 16 * 1024 * 1024;
export const DOWNLOAD_SEED = 7;
export const UPLOAD_BYTES = 4 * 1024 * 1024;
export const UPLOAD_SEED = 9;
export const CONCURRENT_REQUESTS = 10;
export const HELLO = 'hello from the origin';

export { patternBytes } from '../../pattern-bytes.ts';

/** One WebSocket a client opened, as the page saw it. */
export interface SocketRecord {
  readonly url: string;
  /** The subprotocols the client offered. */
  readonly offered: readonly string[];
  /** The subprotocol the server selected ('' for none), once open. */
  selected: string;
  /** The type byte of the server's first Wisp packet: 0x03 CONTINUE (v1) or 0x05 INFO (v2). */
  firstPacketType: number | null;
  /** The close code, if it closed. */
  closeCode: number | null;
  /** The largest message the client sent, in bytes (one Wisp packet per message). */
  largestSent: number;
}

export interface CaseRun {
  readonly result: CaseResult;
  readonly sockets: readonly SocketRecord[];
  /** Wall time of the case in the page. */
  readonly ms: number;
}

/** What the page exposes as `window.wispInterop`. */
export interface InteropPage {
  run(name: CaseName, settings: CaseSettings): Promise<CaseRun>;
}

const WISP_CONTINUE = 0x03;
const WISP_INFO = 0x05;

/**
 * Which Wisp version a socket spoke, from its handshake: v2 when the server selected a
 * subprotocol and opened with INFO, v1 when it selected none and opened with CONTINUE.
 */
export function wispVersionOf(socket: SocketRecord): string {
  if (socket.selected !== '' && socket.firstPacketType === WISP_INFO) return 'v2';
  if (
    socket.selected === '' &&
    socket.offered.length === 0 &&
    socket.firstPacketType === WISP_CONTINUE
  ) {
    return 'v1';
  }
  return `neither: offered ${JSON.stringify(socket.offered)}, selected '${socket.selected}', first packet ${socket.firstPacketType}, close ${socket.closeCode}`;
}
