import { defineProject, mergeConfig } from 'vitest/config';
import { cohortProject } from '../../vitest.shared.ts';

// The front-end is built once per run (test/global-setup.ts), so a fresh
// clone's `pnpm test` needs no build step first. The browser test times how
// soon the page shows an appended step, so its files run one at a time.
export default mergeConfig(
  cohortProject('@cohort/console', { oneFileAtATime: true }),
  defineProject({ test: { globalSetup: ['./test/global-setup.ts'] } }),
);
