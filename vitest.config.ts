import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    // Each file gets its own process: TF.js keeps one global engine per process.
    pool: 'forks',
    reporters: ['default'],
  },
});
