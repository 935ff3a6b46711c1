import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'apps/*/test/**/*.test.ts',
      'packages/*/test/**/*.test.ts',
      'examples/*/test/**/*.test.ts',
      'test/**/*.test.ts',
    ],
    // One PostgreSQL server and one migrated template per run; each test file clones its own database.
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Child processes rather than threads: database drivers, timers and spawned servers are isolated
    // per file and cannot keep a worker alive for the next file.
    pool: 'forks',
    fileParallelism: true,
    // The machines have 2 cores; the database server needs CPU too.
    maxWorkers: 2,
  },
});
