import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Integration tests bind real sockets and spawn processes; two cores, so keep forks modest.
    pool: 'forks',
    maxWorkers: 2,
    // Process-level tests run the compiled binary: build dist/ first when it is stale.
    globalSetup: ['test/e2e/global-setup.ts'],
    projects: [
      { extends: true, test: { name: 'remora', include: ['test/**/*.test.ts'] } },
      {
        // The HTTP/1 fallback on node:http (REMORA_H1_CODEC=node, also what a Node.js without the
        // llhttp binding gets) runs the HTTP/1 integration tests again, so it cannot rot unseen.
        extends: true,
        test: {
          name: 'node-h1-fallback',
          include: ['test/integration/http-*.test.ts'],
          env: { REMORA_H1_CODEC: 'node' },
        },
      },
    ],
  },
});
