/**
 * CORS for the HTTP API, and the same origin rule for WebSockets (which CORS does not cover).
 * Without an allow-list any origin is echoed back, because the widget is embedded on sites we
 * do not know; with one, only listed origins (or `*`) get the headers and may open a socket.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export class CorsPolicy {
  readonly #allowed: ReadonlySet<string> | undefined;

  constructor(allowList: readonly string[] | undefined) {
    this.#allowed = allowList === undefined ? undefined : new Set(allowList);
  }

  /** A request without `Origin` is not from a browser page and is always allowed. */
  allows(origin: string | undefined): boolean {
    if (origin === undefined || this.#allowed === undefined) return true;
    return this.#allowed.has('*') || this.#allowed.has(origin);
  }

  /** Sets the response headers; true when the request was a preflight and is now answered. */
  apply(req: IncomingMessage, res: ServerResponse): boolean {
    const origin = req.headers.origin;
    res.setHeader('Vary', 'Origin');
    if (origin !== undefined && this.allows(origin)) {
      res.setHeader('Access-Control-Allow-Origin', origin);
    }
    if (req.method !== 'OPTIONS') return false;
    if (origin !== undefined && this.allows(origin)) {
      res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', 'Content-Type');
      res.setHeader('Access-Control-Max-Age', '600');
    }
    res.writeHead(204);
    res.end();
    return true;
  }
}
