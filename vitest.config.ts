import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // One real engine, one Temporal server, two cores: test files run one after another. This is a
    // global option (vitest ignores it inside a project), so unit files run one by one too: they
    // take about a second in all.
    fileParallelism: false,
    projects: [
      {
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'] },
      },
      {
        // The workflows against stub activities on a time-skipping test server (scripts/test-server).
        test: {
          name: 'workflow',
          include: ['test/workflow/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          globalSetup: ['test/workflow/global-setup.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          globalSetup: ['test/integration/global-setup.ts'],
        },
      },
    ],
  },
});
