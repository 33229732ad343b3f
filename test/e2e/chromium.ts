/**
 * Launches Debian's Chromium for end-to-end tests: headless, a fresh profile,
 * no background traffic, and plain-IP ICE host candidates (no mDNS names), so
 * WebRTC works inside scripts/netns-run with no STUN server.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM_PATH = process.env['BU_CHROMIUM'] ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
];

export interface LaunchedChromium {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/** `extraArgs` come after the project's flags, e.g. `--host-resolver-rules=…` for a test name. */
export async function launchChromium(extraArgs: readonly string[] = []): Promise<LaunchedChromium> {
  const userDataDir = await mkdtemp(join(tmpdir(), 'bu-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...CHROMIUM_ARGS, ...extraArgs],
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}
