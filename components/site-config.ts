/**
 * The site's run-time configuration: `config.json` at the site's root, beside the pages. The
 * widget (wherever it is embedded), /browse/ and /netstate/ read it when they start, so a site
 * served by any static file server can name its signaling server without a rebuild
 * (docs/running.md, "Standalone deployment"):
 *
 *     {"signaling": "https://signal.example.org/"}
 *
 * A relative `signaling` is resolved against the file's own URL. When the file is missing the
 * defaults hold (signaling at `/signal/` of the site's origin, as `bu serve` has it); when it
 * cannot be read or is malformed, the defaults hold too and the console says why.
 */

/** The file's name, relative to the site's root. */
export const SITE_CONFIG_FILE = 'config.json';
/** Where signaling is when the file does not say: `bu serve` mounts it here. */
export const DEFAULT_SIGNALING_PATH = '/signal/';
const MAX_URL_LENGTH = 2048;

export interface SiteConfig {
  /** Absolute http(s) URL of the signaling server, ending in `/`. */
  readonly signaling: string;
}

/** The configuration when the file says nothing: signaling at `/signal/` of `home`'s origin. */
export function defaultSiteConfig(home: string): SiteConfig {
  return { signaling: new URL(DEFAULT_SIGNALING_PATH, home).href };
}

/**
 * Checks a parsed `config.json`. `base` is the file's URL (relative URLs resolve against it);
 * fields it does not set come from `fallback`. Throws a `TypeError` that names the field.
 */
export function parseSiteConfig(value: unknown, base: string, fallback: SiteConfig): SiteConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError('config.json must hold a JSON object');
  }
  if (!('signaling' in value) || value.signaling === undefined) return fallback;
  const raw = value.signaling;
  let url: URL | undefined;
  try {
    if (typeof raw === 'string' && raw !== '' && raw.length <= MAX_URL_LENGTH) {
      url = new URL(raw, base);
    }
  } catch {
    // not a URL: refused below
  }
  if (!url || !/^https?:$/.test(url.protocol) || url.username + url.password !== '') {
    throw new TypeError(
      `config.json: "signaling" must be an http(s) URL without credentials, at most ${MAX_URL_LENGTH} characters`,
    );
  }
  // Routes are resolved against it (`v1/config`), so it names a directory.
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return { signaling: url.href };
}

/**
 * Reads `config.json` at `url`. Never rejects: a missing file gives `fallback` quietly, an
 * unreadable or malformed one gives `fallback` with a console warning.
 */
export async function loadSiteConfig(url: string, fallback: SiteConfig): Promise<SiteConfig> {
  try {
    // Revalidated every time: an operator's edit takes effect on the next load.
    const response = await fetch(url, {
      cache: 'no-cache',
      credentials: 'omit',
      signal: AbortSignal.timeout(5_000),
    });
    if (response.status === 404) return fallback;
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return parseSiteConfig(await response.json(), response.url || url, fallback);
  } catch (err) {
    console.warn(`Browsers Unbounded: ignoring ${url} (${String(err)}); using the defaults.`);
    return fallback;
  }
}
