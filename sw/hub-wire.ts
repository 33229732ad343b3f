/**
 * Messages between the service worker and the hub page. The service worker posts a
 * request to the hub's window with a reply port (and a body port when there is a body);
 * the hub answers with a head on the reply port, then streams the body on it
 * (port-stream.ts). Both sides check what they receive.
 */

import { sitesSource, type SitesConfig } from '../protocol/site-origins.ts';

export const HUB_PATH = '/browse/';

export interface WireRequest {
  readonly type: 'bu-proxy-request';
  /** The real URL (already decoded from /~/). */
  readonly url: string;
  readonly method: string;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly hasBody: boolean;
  /** True for a navigation of a proxied frame. */
  readonly navigate: boolean;
  readonly destination: string;
  /** The real URL of the page that made the request, when known. */
  readonly referrer: string | undefined;
}

export interface WireHead {
  readonly t: 'head';
  readonly status: number;
  readonly statusText: string;
  readonly headers: ReadonlyArray<readonly [string, string]>;
}

function field(value: object, key: string): unknown {
  return key in value ? (Object.getOwnPropertyDescriptor(value, key)?.value as unknown) : undefined;
}

function asHeaders(value: unknown): Array<[string, string]> | undefined {
  if (!Array.isArray(value) || value.length > 256) return undefined;
  const out: Array<[string, string]> = [];
  for (const entry of value as unknown[]) {
    if (!Array.isArray(entry) || entry.length !== 2) return undefined;
    const [name, val] = entry as unknown[];
    if (typeof name !== 'string' || typeof val !== 'string') return undefined;
    out.push([name, val]);
  }
  return out;
}

export function asWireRequest(value: unknown): WireRequest | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  if (field(value, 'type') !== 'bu-proxy-request') return undefined;
  const url = field(value, 'url');
  const method = field(value, 'method');
  const headers = asHeaders(field(value, 'headers'));
  const hasBody = field(value, 'hasBody');
  const navigate = field(value, 'navigate');
  const destination = field(value, 'destination');
  const referrer = field(value, 'referrer');
  if (
    typeof url !== 'string' ||
    typeof method !== 'string' ||
    headers === undefined ||
    typeof hasBody !== 'boolean' ||
    typeof navigate !== 'boolean' ||
    typeof destination !== 'string' ||
    (referrer !== undefined && typeof referrer !== 'string')
  ) {
    return undefined;
  }
  return {
    type: 'bu-proxy-request',
    url,
    method,
    headers,
    hasBody,
    navigate,
    destination,
    referrer,
  };
}

export function asWireHead(value: unknown): WireHead | undefined {
  if (typeof value !== 'object' || value === null || field(value, 't') !== 'head') return undefined;
  const status = field(value, 'status');
  const statusText = field(value, 'statusText');
  const headers = asHeaders(field(value, 'headers'));
  if (
    typeof status !== 'number' ||
    !Number.isInteger(status) ||
    status < 200 ||
    status > 599 ||
    typeof statusText !== 'string' ||
    headers === undefined
  ) {
    return undefined;
  }
  return { t: 'head', status, statusText, headers };
}

/**
 * The policy every proxied response carries (and the site origins' own pages). A page may
 * load from its own origin (its service worker, which sends everything to the hub), blob:
 * and data:; it may frame, and post forms to, other site origins (their workers, likewise);
 * and only the hub or site origins may frame it. Inline scripts and styles are the proxied
 * site's own (its markup came through the hub), so they stay allowed; what the policy stops
 * is any URL that would reach the network directly.
 */
export function siteCsp(hub: string, config: SitesConfig): string {
  const sites = sitesSource(config);
  return [
    "default-src 'self' blob: data: 'unsafe-inline' 'unsafe-eval'",
    "connect-src 'self' blob: data:",
    `form-action 'self' ${sites}`,
    // Not data: — a data: frame is an opaque origin of its own, a fresh realm the runtime
    // cannot reach, with a WebRTC no policy can forbid.
    `frame-src 'self' blob: ${sites}`,
    "worker-src 'self' blob:",
    "base-uri 'self'",
    "object-src 'none'",
    `frame-ancestors 'self' ${hub} ${sites}`,
  ].join('; ');
}
