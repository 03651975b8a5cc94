import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup/event_loop_watch.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    // Each file gets its own process: TF.js keeps one global engine per process.
    pool: 'forks',
    // Two at a time even on 2 cores (vitest's default is cores - 1): many files wait on a child
    // process, Chromium or Python rather than compute, and no test asserts elapsed time.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    reporters: ['default'],
  },
});
