import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // 2 cores: integration files run real servers and load; keep them from starving each other.
    maxWorkers: 2,
    reporters: process.env.TURNOUT_TEST_JSON
      ? ['default', ['json', { outputFile: process.env.TURNOUT_TEST_JSON }]]
      : ['default'],
  },
});
