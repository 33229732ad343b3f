/**
 * Interop with the web-proxy ecosystem (issue 16): two independent WASM Wisp clients, in
 * real Chromium, against our egress's `/wisp/` and, in the same test, against the reference
 * server (@mercuryworkshop/wisp-js), so a failure says whose fault it is: when the
 * reference side fails too, look at the client or the test; when only `ours` fails, at
 * the egress.
 *
 * The clients (devDependencies, for these tests only; both copyleft, never bundled):
 * - @mercuryworkshop/epoxy-tls 2.1.19-1 (AGPL-3.0-only; Rust, rustls): Wisp v1 or v2 by its
 *   `wisp_v2` option (v2 offers a random UUID as the WebSocket subprotocol), the test CA
 *   by its `pem_files` option.
 * - libcurl.js 0.7.4 (LGPL-3.0-or-later; curl and Mbed TLS): Wisp v1 only (its embedded
 *   Wisp client offers no subprotocol and has no v2 switch), and it trusts only its
 *   compiled-in Mozilla bundle, so its HTTPS case checks that the handshake runs through
 *   Wisp up to certificate verification (curl error 60) instead of a response.
 *
 * Everything listens on 127.0.0.1; Chromium runs with the project's flags (no background
 * traffic) and the test checks it asked for nothing off 127.0.0.1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEgress, type TestEgress } from '../../egress/test/harness.ts';
import { launchChromium, type LaunchedChromium } from './chromium.ts';
import {
  CONCURRENT_REQUESTS,
  DOWNLOAD_BYTES,
  DOWNLOAD_SEED,
  HELLO,
  UPLOAD_BYTES,
  UPLOAD_SEED,
  patternBytes,
  type CaseName,
  type CaseResult,
  type CaseRun,
  type CaseSettings,
  type ClientName,
  type InteropPage,
  wispVersionOf,
} from './wisp-interop/cases.ts';
import {
  digestOf,
  startHttpOrigin,
  startHttpsOrigin,
  type InteropOrigin,
} from './wisp-interop/origin.ts';
import {
  startReferenceWispServer,
  type ReferenceWispServer,
} from './wisp-interop/reference-server.ts';
import { startInteropSite, type InteropSite } from './wisp-interop/site.ts';
import { makeTestCa } from './wisp-interop/test-ca.ts';

/** How long the page gives one case on one server before reporting a timeout. */
const CASE_TIMEOUT_MS = 60_000;

interface Mode {
  readonly client: ClientName;
  readonly v2: boolean;
  readonly label: string;
}

const MODES: readonly Mode[] = [
  { client: 'epoxy', v2: false, label: 'epoxy-tls, Wisp v1' },
  { client: 'epoxy', v2: true, label: 'epoxy-tls, Wisp v2' },
  { client: 'libcurl', v2: false, label: 'libcurl.js, Wisp v1 (it has no v2 mode)' },
];

let caPem: string;
let http: InteropOrigin;
let https: InteropOrigin;
let forbidden: InteropOrigin;
let egress: TestEgress;
let reference: ReferenceWispServer;
let site: InteropSite;
let chromium: LaunchedChromium;
const offMachine: string[] = [];
/** Milliseconds per case and server, printed at the end. */
const timings = new Map<string, { reference: number; ours: number; largestPacketSent: number }>();

beforeAll(async () => {
  const ca = await makeTestCa();
  caPem = ca.caPem;
  [http, https, forbidden] = await Promise.all([
    startHttpOrigin(),
    startHttpsOrigin(ca),
    startHttpOrigin(),
  ]);
  // Our egress refuses loopback unless allowed: the two origins are, the forbidden one is not.
  egress = await startTestEgress({ allow: [`127.0.0.1:${http.port}`, `127.0.0.1:${https.port}`] });
  reference = await startReferenceWispServer(forbidden.port);
  site = await startInteropSite();
  chromium = await launchChromium();
  chromium.context.on('request', (request) => {
    if (new URL(request.url()).hostname !== '127.0.0.1') offMachine.push(request.url());
  });
  chromium.context.on('page', (page) =>
    page.on('websocket', (ws) => {
      if (new URL(ws.url()).hostname !== '127.0.0.1') offMachine.push(ws.url());
    }),
  );
});

afterAll(async () => {
  console.log(JSON.stringify(Object.fromEntries(timings), null, 1));
  await chromium?.close();
  await site?.close();
  await reference?.close();
  await egress?.close();
  await Promise.all([http?.close(), https?.close(), forbidden?.close()]);
  expect(offMachine).toEqual([]);
});

/** One case through one client on one Wisp server, in a fresh page (a fresh client). */
async function runCase(name: CaseName, mode: Mode, wispUrl: string): Promise<CaseRun> {
  const page = await chromium.context.newPage();
  try {
    await page.goto(site.url);
    await page.waitForFunction(() => document.title === 'ready');
    const settings: CaseSettings = {
      client: mode.client,
      wispUrl,
      v2: mode.v2,
      caPem,
      httpOrigin: http.url,
      httpsOrigin: https.url,
      forbiddenOrigin: forbidden.url,
      timeoutMs: CASE_TIMEOUT_MS,
    };
    return await page.evaluate(
      ([n, s]) => (window as unknown as { wispInterop: InteropPage }).wispInterop.run(n, s),
      [name, settings] as const,
    );
  } finally {
    await page.close();
  }
}

/**
 * Runs the case on both servers at once and checks both against `expected`. The diff
 * shows which side deviates: `reference` (@mercuryworkshop/wisp-js) or `ours` (/wisp/).
 */
async function onBoth(name: CaseName, mode: Mode, expected: unknown): Promise<void> {
  const [onReference, onOurs] = await Promise.all([
    runCase(name, mode, reference.wispUrl),
    runCase(name, mode, egress.wsUrl('wisp/')),
  ]);
  timings.set(`${mode.label} ${name}`, {
    reference: onReference.ms,
    ours: onOurs.ms,
    largestPacketSent: Math.max(0, ...onOurs.sockets.map((s) => s.largestSent)),
  });
  const seen = (run: CaseRun): { result: CaseResult; wisp: string[] } => ({
    result: run.result,
    wisp: [...new Set(run.sockets.map(wispVersionOf))],
  });
  const want = { result: expected, wisp: [mode.v2 ? 'v2' : 'v1'] };
  expect({ reference: seen(onReference), ours: seen(onOurs) }).toEqual({
    reference: want,
    ours: want,
  });
}

const ok = (value: unknown): CaseResult => ({ ok: true, value });

describe.each(MODES)('$label against /wisp/ and the reference server', (mode) => {
  it('HTTP GET to a local origin', async () => {
    await onBoth('http', mode, ok({ status: 200, text: HELLO }));
  });

  if (mode.client === 'epoxy') {
    it('HTTPS GET to a local origin, trusting the test CA', async () => {
      await onBoth('https', mode, ok({ status: 200, text: HELLO }));
    });
  } else {
    it('HTTPS: the TLS handshake runs through Wisp up to certificate verification', async () => {
      // libcurl.js 0.7.4 cannot be told to trust another CA, so the test CA's certificate
      // is refused: curl error 60, which needs the server's certificate to have arrived.
      await onBoth('https', mode, {
        ok: false,
        error: expect.stringMatching(/error code 60\b/) as unknown,
      });
    });
  }

  it(`${CONCURRENT_REQUESTS} concurrent requests on one connection`, async () => {
    const replies = Array.from({ length: CONCURRENT_REQUESTS }, (_, i) => ({
      status: 200,
      text: `reply ${i}`,
    }));
    await onBoth('concurrent', mode, ok(replies));
  });

  it('a 16 MiB download, byte-exact', async () => {
    await onBoth(
      'download',
      mode,
      ok({ status: 200, ...digestOf(patternBytes(DOWNLOAD_BYTES, DOWNLOAD_SEED)) }),
    );
  });

  it('a 4 MiB upload, byte-exact', async () => {
    await onBoth(
      'upload',
      mode,
      ok({ status: 200, received: digestOf(patternBytes(UPLOAD_BYTES, UPLOAD_SEED)) }),
    );
  });

  it('a forbidden destination fails in the client and is never dialled', async () => {
    const before = forbidden.connections();
    await onBoth('forbidden', mode, { ok: false, error: expect.any(String) as unknown });
    expect(forbidden.connections()).toBe(before);
    expect(egress.dialed).not.toContain(`127.0.0.1:${forbidden.port}`);
  });
});
