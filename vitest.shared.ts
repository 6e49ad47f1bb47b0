import { configDefaults, defineProject } from 'vitest/config';

/** How a workspace project's tests run; see {@link cohortProject}. */
export interface CohortProjectOptions {
  /** Per-test timeout in ms (default 60 s). */
  testTimeout?: number;
  /**
   * Run this project's files one at a time, after the files of the other
   * projects (which share the workers; see the root vitest.config.ts). For
   * files that each keep both cores busy (the CLI end-to-end files, which run
   * their independent processes at once) or that time a page in chromium.
   */
  oneFileAtATime?: boolean;
  /** Globs (relative to the project) of files that another project runs. */
  exclude?: string[];
}

/** Vitest settings shared by every workspace project. */
export function cohortProject(name: string, overrides: CohortProjectOptions = {}) {
  return defineProject({
    resolve: { conditions: ['@cohort/source'] },
    ssr: { resolve: { conditions: ['@cohort/source'] } },
    test: {
      name,
      include: ['src/**/*.test.ts', 'test/**/*.test.ts', '*.test.ts', 'e2e/**/*.test.ts'],
      exclude: [...configDefaults.exclude, ...(overrides.exclude ?? [])],
      testTimeout: overrides.testTimeout ?? 60_000,
      hookTimeout: 120_000,
      ...(overrides.oneFileAtATime ? { fileParallelism: false } : {}),
    },
  });
}
