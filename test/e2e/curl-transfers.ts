/**
 * The transfer checks shared by the process chain and the Chromium volunteer: real curl
 * through the HTTP proxy and through SOCKS5 to a local HTTP and HTTPS origin, bodies
 * byte-exact, and 20 curls at once.
 */
import { expect, it } from 'vitest';
import { body, curl, MiB, type Origins, type Proxy } from './chain-harness.ts';

export interface TransferContext {
  readonly proxy: Proxy;
  readonly origins: Origins;
  /** Measured numbers for the report: label → seconds. */
  readonly timings: Map<string, number>;
}

export function transferTests(context: () => TransferContext): void {
  const cases = [
    ['http', 'http', 1],
    ['http', 'https', 1],
    ['socks', 'http', 1],
    ['socks', 'https', 1],
    ['http', 'http', 64],
    ['http', 'https', 64],
    ['socks', 'http', 64],
    ['socks', 'https', 64],
  ] as const;
  it.each(cases)(
    'curl through the %s proxy to the %s origin: %i MiB arrive byte-exact',
    async (via, scheme, mebibytes) => {
      const { proxy, origins, timings } = context();
      const size = mebibytes * MiB;
      const port = scheme === 'http' ? origins.httpPort : origins.httpsPort;
      const result = await curl(via, proxy, `${scheme}://127.0.0.1:${port}/bytes/${size}`);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.status).toBe('200');
      expect(result.size).toBe(size);
      expect(result.sha256).toBe(body(size).sha256);
      timings.set(`${via} → ${scheme} ${mebibytes} MiB`, result.seconds);
    },
  );

  it('20 parallel curls (HTTP and SOCKS5, HTTP and HTTPS) all succeed', async () => {
    const { proxy, origins, timings } = context();
    const size = 256 * 1024;
    const started = Date.now();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => {
        const via = i % 2 === 0 ? 'http' : 'socks';
        const scheme = i % 4 < 2 ? 'http' : 'https';
        const port = scheme === 'http' ? origins.httpPort : origins.httpsPort;
        return curl(via, proxy, `${scheme}://127.0.0.1:${port}/bytes/${size}`);
      }),
    );
    timings.set('20 parallel × 256 KiB', (Date.now() - started) / 1000);
    for (const result of results) {
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.sha256).toBe(body(size).sha256);
    }
  });
}
