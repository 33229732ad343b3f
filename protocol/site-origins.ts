/**
 * Site origins (docs/architecture.md, "Site origins"): every proxied site lives in a browser
 * origin of its own. The server publishes a template such as `http://{label}.localhost:8080`
 * or `https://{label}.sites.example.org` (`/sites.json` next to the hub), and the proxied
 * origin `https://example.org` is shown at the template with its label.
 *
 * The label is a commitment to the proxied origin: anyone holding the proxied origin can check
 * it, so the hub, the site's service worker and the site's pages agree on which site an origin
 * serves without a table that someone could write to. A page cannot make its origin speak for
 * another site, because the label would not match.
 *
 * label = the first 26 characters of base32 (RFC 4648, lower case, no padding) of
 * SHA-256("browsers-unbounded site\n" + origin): 130 bits, a valid DNS label.
 */
import { sha256 } from '@noble/hashes/sha2.js';

export const SITE_LABEL_LENGTH = 26;
export const SITE_LABEL = /^[a-z2-7]{26}$/;
/** The path under which a site origin's own files live; proxied paths never start with it. */
export const SITE_FILES = '/~bu/';
export const BOOT_PATH = '/~bu/boot';
/** Where the hub reads the sites template, next to itself. */
export const SITES_CONFIG = '/sites.json';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
const DOMAIN_TAG = 'browsers-unbounded site\n';

export interface SitesConfig {
  /** A URL origin with `{label}` as its first host label, e.g. `http://{label}.localhost:8080`. */
  readonly template: string;
}

/** The label of a proxied origin (`https://example.org`, as `URL.origin` gives it). */
export function siteLabel(origin: string): string {
  const digest = sha256(new TextEncoder().encode(DOMAIN_TAG + origin));
  let out = '';
  let value = 0;
  let bits = 0;
  for (const byte of digest) {
    value = ((value << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5 && out.length < SITE_LABEL_LENGTH) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    if (out.length === SITE_LABEL_LENGTH) break;
  }
  return out;
}

/** True when `url` is an http(s) URL without credentials: one whose origin can be proxied. */
export function isProxiableUrl(url: URL): boolean {
  return /^https?:$/.test(url.protocol) && url.username === '' && url.password === '';
}

/** True for a template the server may publish: `http(s)://{label}.host[:port]`, nothing more. */
export function isSitesTemplate(template: string): boolean {
  if (!/^https?:\/\/\{label\}\.[a-z0-9.-]+(?::\d{1,5})?$/.test(template)) return false;
  const sample = template.replace('{label}', 'a');
  try {
    return new URL(sample).origin === sample;
  } catch {
    return false;
  }
}

/** Checks a config from sites.json; undefined when it is not one. */
export function asSitesConfig(value: unknown): SitesConfig | undefined {
  if (typeof value !== 'object' || value === null || !('template' in value)) return undefined;
  const template = value.template;
  return typeof template === 'string' && isSitesTemplate(template) ? { template } : undefined;
}

/** The site origin that shows `proxiedOrigin`. */
export function siteOriginFor(config: SitesConfig, proxiedOrigin: string): string {
  return config.template.replace('{label}', siteLabel(proxiedOrigin));
}

/** The label of a site origin under `config`, or undefined when it is not one. */
export function labelOf(config: SitesConfig, siteOrigin: string): string | undefined {
  const [before = '', after = ''] = config.template.split('{label}');
  if (!siteOrigin.startsWith(before) || !siteOrigin.endsWith(after)) return undefined;
  const label = siteOrigin.slice(before.length, siteOrigin.length - after.length);
  return SITE_LABEL.test(label) ? label : undefined;
}

/** True when `siteOrigin` is the site origin of `proxiedOrigin` under `config`. */
export function servesOrigin(
  config: SitesConfig,
  siteOrigin: string,
  proxiedOrigin: string,
): boolean {
  const label = labelOf(config, siteOrigin);
  return label !== undefined && label === siteLabel(proxiedOrigin);
}

/** The template of the site origin `siteOrigin` (its first host label is the label). */
export function templateOf(siteOrigin: string): string {
  const url = new URL(siteOrigin);
  const rest = url.hostname.split('.').slice(1).join('.');
  return `${url.protocol}//{label}.${rest}${url.port === '' ? '' : `:${url.port}`}`;
}

/** Every site origin under `config`, as a CSP source: `http://*.localhost:8080`. */
export function sitesSource(config: SitesConfig): string {
  return config.template.replace('{label}', '*');
}

/**
 * The address that opens `target` in its site origin: the boot page, which sets up the
 * origin's service worker and then goes to the page. `hub` is the hub's origin, which the
 * boot page checks against the server's list before it talks to it.
 */
export function bootUrl(config: SitesConfig, target: URL, hub: string): string {
  const query = new URLSearchParams({ u: target.href, h: hub });
  return `${siteOriginFor(config, target.origin)}${BOOT_PATH}?${query.toString()}`;
}
