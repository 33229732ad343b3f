/**
 * The shell's integrity, checked each time a precached file is served: the build records the
 * SHA-256 of every precached file (sw/build.mjs), workbox fetches them with that `integrity`
 * at install, and this plugin refuses a cached copy whose bytes no longer match, so the
 * request goes to the network instead. Proxied pages live in other origins and cannot reach
 * this cache at all; this is the second lock on the door.
 */
import { addPlugins } from 'workbox-precaching';

interface Entry {
  readonly url: string;
  readonly integrity?: string;
}

export function shellIntegrity(entries: readonly Entry[]): void {
  const expected = new Map<string, string>();
  for (const entry of entries) {
    if (entry.integrity?.startsWith('sha256-')) {
      expected.set(new URL(entry.url, self.location.href).pathname, entry.integrity.slice(7));
    }
  }
  addPlugins([
    {
      cachedResponseWillBeUsed: async ({ request, cachedResponse }) => {
        if (cachedResponse === null || cachedResponse === undefined) return null;
        const path = new URL(request.url).pathname;
        const want =
          expected.get(path) ?? expected.get(path.endsWith('/') ? `${path}index.html` : path);
        if (want === undefined) return cachedResponse;
        const digest = await crypto.subtle.digest(
          'SHA-256',
          await cachedResponse.clone().arrayBuffer(),
        );
        return base64(new Uint8Array(digest)) === want ? cachedResponse : null;
      },
    },
  ]);
}

function base64(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text);
}
