// Component tests in real Chromium (Debian's /usr/bin/chromium; nothing downloads a
// browser): `npx web-test-runner`. Test files are components/**/*.browser.test.ts.
import { esbuildPlugin } from '@web/dev-server-esbuild';
import { playwrightLauncher } from '@web/test-runner-playwright';
import { signalingPlugin } from './components/test/signaling-plugin.mjs';

export default {
  files: ['components/**/*.browser.test.ts', 'site/**/*.browser.test.ts'],
  nodeResolve: { exportConditions: ['production'] },
  plugins: [
    esbuildPlugin({ ts: true, target: 'es2022', tsconfig: 'tsconfig.json' }),
    // A real signaling server for the volunteer contract suite against mesh's Volunteer.
    signalingPlugin(),
  ],
  browsers: [
    playwrightLauncher({
      product: 'chromium',
      launchOptions: {
        executablePath: process.env.BU_CHROMIUM ?? '/usr/bin/chromium',
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      },
    }),
  ],
  testFramework: { config: { timeout: 15_000 } },
  testsFinishTimeout: 120_000,
};
