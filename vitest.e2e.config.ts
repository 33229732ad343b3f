import { defineConfig } from 'vitest/config';

// End-to-end tests: run by `npm run test:e2e` inside scripts/netns-run, where
// WebRTC has a non-loopback interface and nothing can leave the machine.
export default defineConfig({
  test: {
    include: ['**/*.e2e.test.ts'],
    exclude: ['node_modules/**', 'dist/**'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    passWithNoTests: true,
  },
});
