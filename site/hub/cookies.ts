/**
 * Cookies for proxied sites (RFC 6265bis, the parts a proxy needs): parsing `Set-Cookie`,
 * deciding which stored cookies a request carries, and the `Cookie` header. Pure: the
 * jar that keeps them (IndexedDB, one entry per domain) is in cookie-jar.ts.
 */

export interface Cookie {
  readonly name: string;
  readonly value: string;
  /** Lower-case host, without a leading dot. */
  readonly domain: string;
  /** True when the cookie had no Domain attribute: only that exact host gets it. */
  readonly hostOnly: boolean;
  readonly path: string;
  /** Milliseconds since the epoch; undefined for a session cookie. */
  readonly expires: number | undefined;
  readonly secure: boolean;
  readonly httpOnly: boolean;
  readonly sameSite: 'strict' | 'lax' | 'none';
  readonly created: number;
}

/** Bytes of name plus value, as browsers limit them. */
const MAX_COOKIE = 4096;
const MAX_ATTRIBUTE = 1024;

/** Controls other than tab make a browser ignore the cookie. */
function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if ((code < 0x20 && code !== 0x09) || code === 0x7f) return true;
  }
  return false;
}

/** The directory of a request path, the default Path of a cookie it sets. */
export function defaultPath(pathname: string): string {
  if (!pathname.startsWith('/')) return '/';
  const last = pathname.lastIndexOf('/');
  return last <= 0 ? '/' : pathname.slice(0, last);
}

function domainMatches(host: string, domain: string): boolean {
  return host === domain || (host.endsWith(`.${domain}`) && !/^[\d.]+$|:/.test(host));
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

/** `Expires` dates as servers send them; Date.parse reads the common forms. */
function parseExpires(value: string): number | undefined {
  const time = Date.parse(value);
  return Number.isNaN(time) ? undefined : time;
}

/**
 * One `Set-Cookie` header received for `url` at time `now`; undefined when a browser
 * would ignore it (bad syntax, a Domain that does not cover the host, Secure over http,
 * a broken `__Secure-` or `__Host-` prefix, too large).
 */
export function parseSetCookie(header: string, url: URL, now: number): Cookie | undefined {
  const [pair = '', ...attributes] = header.split(';');
  const eq = pair.indexOf('=');
  const name = (eq < 0 ? '' : pair.slice(0, eq)).trim();
  const value = (eq < 0 ? pair : pair.slice(eq + 1)).trim();
  if (name === '' && value === '') return undefined;
  if (name.length + value.length > MAX_COOKIE) return undefined;
  if (hasControl(name + value)) return undefined;

  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  const https = url.protocol === 'https:';
  let domain: string | undefined;
  let path: string | undefined;
  let expires: number | undefined;
  let maxAge: number | undefined;
  let secure = false;
  let httpOnly = false;
  let sameSite: Cookie['sameSite'] = 'lax';
  for (const attribute of attributes) {
    const at = attribute.indexOf('=');
    const key = (at < 0 ? attribute : attribute.slice(0, at)).trim().toLowerCase();
    const val = at < 0 ? '' : attribute.slice(at + 1).trim();
    if (val.length > MAX_ATTRIBUTE) continue;
    switch (key) {
      case 'expires':
        expires = parseExpires(val) ?? expires;
        break;
      case 'max-age':
        if (/^-?\d+$/.test(val)) maxAge = Number(val);
        break;
      case 'domain':
        if (val !== '') domain = val.replace(/^\./, '').toLowerCase();
        break;
      case 'path':
        path = val.startsWith('/') ? val : undefined;
        break;
      case 'secure':
        secure = true;
        break;
      case 'httponly':
        httpOnly = true;
        break;
      case 'samesite': {
        const v = val.toLowerCase();
        sameSite = v === 'strict' || v === 'none' ? v : 'lax';
        break;
      }
    }
  }
  if (secure && !https) return undefined;
  if (sameSite === 'none' && !secure) return undefined;
  // A Domain must cover the host and be more than a top-level label (no public suffix list:
  // single labels are refused, which stops the worst case, `Domain=com`).
  if (domain !== undefined) {
    if (!domainMatches(host, domain)) return undefined;
    if (!domain.includes('.') && domain !== host) return undefined;
  }
  if (name.startsWith('__Secure-') && !secure) return undefined;
  if (name.startsWith('__Host-') && (!secure || domain !== undefined || path !== '/')) {
    return undefined;
  }
  const expiry = maxAge !== undefined ? now + Math.max(maxAge, -1) * 1000 : expires;
  return {
    name,
    value,
    domain: domain ?? host,
    hostOnly: domain === undefined,
    path: path ?? defaultPath(url.pathname),
    expires: expiry,
    secure,
    httpOnly,
    sameSite,
    created: now,
  };
}

/** True when the cookie has expired (a Max-Age of 0 or less, or an Expires in the past). */
export function isExpired(cookie: Cookie, now: number): boolean {
  return cookie.expires !== undefined && cookie.expires <= now;
}

/** Same key = same cookie: a new one with this key replaces the old one. */
export function cookieKey(cookie: Pick<Cookie, 'name' | 'domain' | 'path' | 'hostOnly'>): string {
  return `${cookie.hostOnly ? '=' : '.'}${cookie.domain};${cookie.path};${cookie.name}`;
}

export interface CookieContext {
  /** The real URL of the top-level page; undefined for a top-level navigation. */
  readonly topLevel: URL | undefined;
  /** True for a top-level navigation with a safe method (GET, HEAD): Lax cookies go. */
  readonly safeTopLevelNavigation: boolean;
}

/** The last two labels of a host, a stand-in for its registrable domain. */
export function siteOf(host: string): string {
  if (/^[\d.]+$|:/.test(host)) return host;
  return host.split('.').slice(-2).join('.');
}

/** Whether a stored cookie goes with a request to `url`. */
export function cookieApplies(
  cookie: Cookie,
  url: URL,
  now: number,
  context: CookieContext,
): boolean {
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (isExpired(cookie, now)) return false;
  if (cookie.hostOnly ? host !== cookie.domain : !domainMatches(host, cookie.domain)) return false;
  if (!pathMatches(url.pathname, cookie.path)) return false;
  if (cookie.secure && url.protocol !== 'https:') return false;
  const crossSite =
    context.topLevel !== undefined &&
    siteOf(context.topLevel.hostname.toLowerCase()) !== siteOf(host);
  if (crossSite && cookie.sameSite === 'strict') return false;
  if (crossSite && cookie.sameSite === 'lax' && !context.safeTopLevelNavigation) return false;
  return true;
}

/** The `Cookie` header value: longer paths first, then older cookies first (RFC 6265). */
export function cookieHeader(cookies: readonly Cookie[]): string {
  return [...cookies]
    .sort((a, b) => b.path.length - a.path.length || a.created - b.created)
    .map((c) => (c.name === '' ? c.value : `${c.name}=${c.value}`))
    .join('; ');
}

/** The domains whose jars may hold cookies for `host`: itself and each parent. */
export function jarDomains(host: string): string[] {
  const clean = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (/^[\d.]+$|:/.test(clean)) return [clean];
  const labels = clean.split('.');
  const out: string[] = [];
  for (let i = 0; i < labels.length - 1 || i === 0; i++) out.push(labels.slice(i).join('.'));
  return out;
}

/** Reads one field of an unknown object without a cast. */
function field(value: object, key: string): unknown {
  return key in value ? (Object.getOwnPropertyDescriptor(value, key)?.value as unknown) : undefined;
}

/** Type guard for cookies read back from storage (which may hold anything). */
export function isCookie(value: unknown): value is Cookie {
  if (typeof value !== 'object' || value === null) return false;
  const get = (key: keyof Cookie) => field(value, key);
  const expires = get('expires');
  const sameSite = get('sameSite');
  return (
    typeof get('name') === 'string' &&
    typeof get('value') === 'string' &&
    typeof get('domain') === 'string' &&
    typeof get('hostOnly') === 'boolean' &&
    typeof get('path') === 'string' &&
    (expires === undefined || typeof expires === 'number') &&
    typeof get('secure') === 'boolean' &&
    typeof get('httpOnly') === 'boolean' &&
    (sameSite === 'strict' || sameSite === 'lax' || sameSite === 'none') &&
    typeof get('created') === 'number'
  );
}
