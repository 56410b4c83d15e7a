import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Integration tests bind real sockets and spawn processes; two cores, so keep forks modest.
    pool: 'forks',
    maxWorkers: 2,
  },
});
