import { defineProject } from 'vitest/config';

/** Vitest settings shared by every workspace project. */
export function cohortProject(name: string, overrides: { testTimeout?: number } = {}) {
  return defineProject({
    resolve: { conditions: ['@cohort/source'] },
    ssr: { resolve: { conditions: ['@cohort/source'] } },
    test: {
      name,
      include: ['src/**/*.test.ts', 'test/**/*.test.ts', '*.test.ts', 'e2e/**/*.test.ts'],
      testTimeout: overrides.testTimeout ?? 60_000,
      hookTimeout: 120_000,
    },
  });
}
