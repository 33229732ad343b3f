import { defineConfig } from 'vitest/config';

// Unit, property, fuzz and integration tests. End-to-end tests (`*.e2e.test.ts`)
// need WebRTC and Chromium and run in a network namespace: vitest.e2e.config.ts.
// Web component tests (`*.browser.test.ts`) run in Chromium under @web/test-runner.
export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**', '**/*.e2e.test.ts', '**/*.browser.test.ts'],
    testTimeout: 60_000,
  },
});
