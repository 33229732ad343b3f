/**
 * The request target of an HTTP request or upgrade, parsed once at the server's edge. Handlers
 * receive the resulting `URL` and never parse `req.url` themselves: a target that `URL` cannot
 * read (`//[`, `//a:b`, `http://[`) is answered 400 before any handler runs.
 */

/** Longer targets are refused; Node's parser already caps the whole head at 16 KiB. */
export const MAX_TARGET_LENGTH = 8192;

const BASE = 'http://localhost';

/**
 * An origin-form target (RFC 9112 section 3.2.1): a path of RFC 3986 `pchar`s and `/`, then
 * optionally `?` and a query. The query may hold any visible ASCII but `#` (browsers send
 * `[`, `]`, `|` and the like there unescaped); every `%` must start a `%XX` escape, so that no
 * handler's decoding can fail on it.
 */
const ORIGIN_FORM =
  /^(?:\/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})*)+(?:\?(?:[\x21-\x22\x24\x26-\x7e]|%[0-9A-Fa-f]{2})*)?$/;

/**
 * The target as a URL whose `pathname` and `searchParams` are what the client asked for, or
 * `null` when it is not a valid origin-form (`/path?query`) or absolute-form
 * (`http://host/path`) target. Origin-form is appended to a fixed base rather than resolved
 * against it, so `//host/x` is the path `//host/x`, never a request for another host.
 */
export function parseRequestTarget(target: string | undefined): URL | null {
  if (target === undefined || target.length === 0 || target.length > MAX_TARGET_LENGTH) {
    return null;
  }
  try {
    if (target.startsWith('/'))
      return ORIGIN_FORM.test(target) ? new URL(`${BASE}${target}`) : null;
    if (/^https?:\/\//i.test(target)) return new URL(target);
  } catch {
    return null;
  }
  return null;
}
