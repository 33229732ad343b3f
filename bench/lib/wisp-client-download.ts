/**
 * One 16 MiB download through a WASM Wisp client in Chromium, on the interop test's page
 * (test/e2e/wisp-interop/page.ts): a fresh page, a warm-up GET that loads and compiles the
 * client's WASM, then the download case, timed by the page's own clock. The body's length
 * and SHA-256 and the Wisp version spoken are checked, so only correct transfers count.
 */
import { isDeepStrictEqual } from 'node:util';
import type { BrowserContext } from 'playwright-core';
import {
  DOWNLOAD_BYTES,
  DOWNLOAD_SEED,
  patternBytes,
  wispVersionOf,
  type CaseName,
  type CaseRun,
  type CaseSettings,
  type InteropPage,
} from '../../test/e2e/wisp-interop/cases.ts';
import { digestOf } from '../../test/e2e/wisp-interop/origin.ts';

const expected = {
  ok: true,
  value: { status: 200, ...digestOf(patternBytes(DOWNLOAD_BYTES, DOWNLOAD_SEED)) },
};

export interface PageDownload {
  /** The download case's wall time in the page (performance.now), milliseconds. */
  readonly ms: number;
}

/**
 * Runs the download case once in a new page of `context`; `measure` wraps only that case
 * (e.g. to read a server's CPU time around it). Throws when the transfer was not byte-exact
 * or spoke another Wisp version than asked for.
 */
export async function downloadInPage(
  context: BrowserContext,
  siteUrl: string,
  settings: CaseSettings,
  measure: <T>(work: () => Promise<T>) => Promise<T> = (work) => work(),
): Promise<PageDownload> {
  const page = await context.newPage();
  try {
    await page.goto(siteUrl);
    await page.waitForFunction(() => document.title === 'ready');
    const run = (name: CaseName): Promise<CaseRun> =>
      page.evaluate(
        ([n, s]) => (window as unknown as { wispInterop: InteropPage }).wispInterop.run(n, s),
        [name, settings] as const,
      );
    const warm = await run('http');
    if (!warm.result.ok)
      throw new Error(`warm-up GET through ${settings.wispUrl}: ${warm.result.error}`);
    const done = await measure(() => run('download'));
    if (!isDeepStrictEqual(done.result, expected)) {
      throw new Error(
        `download through ${settings.wispUrl}: ${JSON.stringify(done.result)}, want ${JSON.stringify(expected)}`,
      );
    }
    const versions = [...new Set(done.sockets.map(wispVersionOf))];
    const want = settings.v2 ? 'v2' : 'v1';
    if (versions.length !== 1 || versions[0] !== want) {
      throw new Error(`through ${settings.wispUrl}: Wisp ${versions.join(', ')}, want ${want}`);
    }
    return { ms: done.ms };
  } finally {
    await page.close();
  }
}
