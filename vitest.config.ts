import { defineConfig } from 'vitest/config';

/**
 * Test tiers, each with its own script in package.json:
 * - unit: pure code, no services;
 * - integration: the origin against a real database, run twice (TEST_DB=postgres and TEST_DB=pglite);
 * - system: the whole stack as it runs in production — the Worker in workerd, real nginx, headless
 *   Chromium, the deploy and backup scripts — run once, on PostgreSQL.
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: [
            'contract/**/*.test.ts',
            'edge-worker/src/**/*.test.ts',
            'origin/src/**/*.test.ts',
            'origin/tools/**/*.test.ts',
            'scripts/**/*.test.ts',
            'web/**/*.test.ts',
          ],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['origin/test/**/*.test.ts', 'test/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'system',
          include: ['test/edge/**/*.test.ts', 'test/browser/**/*.test.ts', 'test/ops/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
