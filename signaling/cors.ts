/**
 * CORS for the HTTP API, and the same origin rule for WebSockets (which CORS does not cover).
 * Without an allow-list any origin is echoed back, because the widget is embedded on sites we
 * do not know; with one, only listed origins (or `*`) are served and may open a socket.
 *
 * A page of an unlisted origin gets `403 origin-not-allowed` before any route runs, and may
 * read that answer (its origin is echoed on the refusal alone): the widget on a site the
 * operator has not allowed can then say why instead of "cannot reach the signaling server".
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendError } from './http-io.ts';

export class CorsPolicy {
  readonly #allowed: ReadonlySet<string> | undefined;
  readonly #refused: () => void;

  /** `refused` is called once for every request refused for its origin (a metric). */
  constructor(allowList: readonly string[] | undefined, refused: () => void = () => undefined) {
    this.#allowed = allowList === undefined ? undefined : new Set(allowList);
    this.#refused = refused;
  }

  /** A request without `Origin` is not from a browser page and is always allowed. */
  allows(origin: string | undefined): boolean {
    if (origin === undefined || this.#allowed === undefined) return true;
    return this.#allowed.has('*') || this.#allowed.has(origin);
  }

  /**
   * Sets the response headers; true when the request is answered already: a preflight, or a
   * request from an origin that is not allowed (`403 origin-not-allowed`).
   */
  apply(req: IncomingMessage, res: ServerResponse): boolean {
    const origin = req.headers.origin;
    res.setHeader('Vary', 'Origin');
    if (origin !== undefined) res.setHeader('Access-Control-Allow-Origin', origin);
    if (!this.allows(origin)) {
      this.#refused();
      sendError(
        res,
        'origin-not-allowed',
        "this signaling server does not serve this site's pages; its operator lists the sites it serves (--cors)",
      );
      return true;
    }
    if (req.method !== 'OPTIONS') return false;
    if (origin !== undefined) {
      res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', 'Content-Type');
      res.setHeader('Access-Control-Max-Age', '600');
    }
    res.writeHead(204);
    res.end();
    return true;
  }
}
