/**
 * The hub's cookie jar: IndexedDB (database `bu-cookies`), one entry per domain holding
 * that domain's cookies, so a request reads only the jars of its host and its parents.
 * Writes to one jar are serialised; expired cookies are dropped as they are met.
 */
import { createStore, get, set, type UseStore } from 'idb-keyval';
import {
  cookieApplies,
  cookieKey,
  isCookie,
  isExpired,
  jarDomains,
  type Cookie,
  type CookieContext,
} from './cookies.ts';

/** Per domain, as browsers do (Chromium keeps 180; a proxy needs fewer). */
const MAX_PER_DOMAIN = 60;

export class CookieJar {
  readonly #store: UseStore;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(store: UseStore = createStore('bu-cookies', 'jars')) {
    this.#store = store;
  }

  async #read(domain: string): Promise<Cookie[]> {
    const value: unknown = await get(domain, this.#store);
    return Array.isArray(value) ? (value as unknown[]).filter(isCookie) : [];
  }

  /** The cookies a request to `url` carries. */
  async cookiesFor(url: URL, context: CookieContext, now = Date.now()): Promise<Cookie[]> {
    await this.#queue;
    const jars = await Promise.all(jarDomains(url.hostname).map((domain) => this.#read(domain)));
    return jars.flat().filter((cookie) => cookieApplies(cookie, url, now, context));
  }

  /** Stores cookies from one response (an expired one deletes its namesake). */
  store(cookies: readonly Cookie[], now = Date.now()): Promise<void> {
    const next = this.#queue.then(async () => {
      const byDomain = new Map<string, Cookie[]>();
      for (const cookie of cookies) {
        const list = byDomain.get(cookie.domain) ?? [];
        list.push(cookie);
        byDomain.set(cookie.domain, list);
      }
      for (const [domain, incoming] of byDomain) {
        const kept = new Map<string, Cookie>();
        for (const cookie of await this.#read(domain)) {
          if (!isExpired(cookie, now)) kept.set(cookieKey(cookie), cookie);
        }
        for (const cookie of incoming) {
          const key = cookieKey(cookie);
          const old = kept.get(key);
          kept.delete(key);
          if (!isExpired(cookie, now))
            kept.set(key, old ? { ...cookie, created: old.created } : cookie);
        }
        await set(domain, [...kept.values()].slice(-MAX_PER_DOMAIN), this.#store);
      }
    });
    this.#queue = next.catch(() => undefined);
    return next;
  }
}
