import { defineProject, mergeConfig } from 'vitest/config';
import { cohortProject } from '../../vitest.shared.ts';

// The front-end is built once per run (test/global-setup.ts), so a fresh
// clone's `pnpm test` needs no build step first.
export default mergeConfig(
  cohortProject('@cohort/console'),
  defineProject({ test: { globalSetup: ['./test/global-setup.ts'] } }),
);
