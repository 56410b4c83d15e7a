import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Integration tests bind real sockets and spawn processes; two cores, so keep forks modest.
    pool: 'forks',
    maxWorkers: 2,
    // Process-level tests run the compiled binary: build dist/ first when it is stale.
    globalSetup: ['test/e2e/global-setup.ts'],
  },
});
