import { webcrypto } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  asSitesConfig,
  bootUrl,
  labelOf,
  servesOrigin,
  siteLabel,
  siteOriginFor,
  SITE_LABEL,
  templateOf,
} from '../site-origins.ts';

const CONFIG = { template: 'http://{label}.localhost:8080' };

/** The label by its definition, with WebCrypto and a plain base32 encoder, as a cross-check. */
async function referenceLabel(origin: string): Promise<string> {
  const digest = new Uint8Array(
    await webcrypto.subtle.digest(
      'SHA-256',
      new TextEncoder().encode(`browsers-unbounded site\n${origin}`),
    ),
  );
  const bits = [...digest].map((b) => b.toString(2).padStart(8, '0')).join('');
  let out = '';
  for (let i = 0; i < 26 * 5; i += 5) {
    out += 'abcdefghijklmnopqrstuvwxyz234567'[Number.parseInt(bits.slice(i, i + 5), 2)];
  }
  return out;
}

describe('site origins', () => {
  it('labels an origin with 26 base32 characters of its SHA-256, as WebCrypto computes it', async () => {
    expect(siteLabel('https://example.org')).toBe(await referenceLabel('https://example.org'));
    await fc.assert(
      fc.asyncProperty(fc.webUrl(), async (url) => {
        const origin = new URL(url).origin;
        const label = siteLabel(origin);
        expect(label).toMatch(SITE_LABEL);
        expect(label).toBe(await referenceLabel(origin));
      }),
      { numRuns: 300 },
    );
  });

  it('gives different sites different origins, and proves which site an origin serves', () => {
    const a = siteOriginFor(CONFIG, 'https://a.example');
    const b = siteOriginFor(CONFIG, 'https://b.example');
    expect(a).not.toBe(b);
    expect(a).toMatch(/^http:\/\/[a-z2-7]{26}\.localhost:8080$/);
    expect(servesOrigin(CONFIG, a, 'https://a.example')).toBe(true);
    expect(servesOrigin(CONFIG, a, 'https://b.example')).toBe(false);
    expect(servesOrigin(CONFIG, a, 'http://a.example')).toBe(false);
    expect(servesOrigin(CONFIG, 'http://evil.example:8080', 'https://a.example')).toBe(false);
    expect(labelOf(CONFIG, 'http://x.localhost:8080')).toBeUndefined();
    expect(templateOf(a)).toBe(CONFIG.template);
  });

  it('builds the boot address with the page and the hub', () => {
    const url = new URL(
      bootUrl(CONFIG, new URL('https://a.example/p?q#h'), 'http://127.0.0.1:8080'),
    );
    expect(url.origin).toBe(siteOriginFor(CONFIG, 'https://a.example'));
    expect(url.pathname).toBe('/~bu/boot');
    expect(url.searchParams.get('u')).toBe('https://a.example/p?q#h');
    expect(url.searchParams.get('h')).toBe('http://127.0.0.1:8080');
  });

  it('accepts only templates of one label under a host', () => {
    expect(asSitesConfig({ template: 'https://{label}.sites.example.org' })).toBeDefined();
    expect(asSitesConfig({ template: 'http://{label}.localhost:8080' })).toBeDefined();
    for (const template of [
      'https://sites.example.org',
      'https://x{label}.example.org',
      'https://{label}.example.org/path',
      'ftp://{label}.example.org',
      'https://{label}.example.org:99999',
      'https://{label}',
    ]) {
      expect(asSitesConfig({ template }), template).toBeUndefined();
    }
    expect(asSitesConfig(null)).toBeUndefined();
    expect(asSitesConfig({ template: 7 })).toBeUndefined();
  });
});
