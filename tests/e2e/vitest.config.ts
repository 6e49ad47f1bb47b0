import { cohortProject } from '../../vitest.shared.ts';

// Each file spawns the CLI and runs its independent processes at once, so it
// keeps both cores of a 2-core machine busy by itself: the files run one at a
// time, after the other projects.
export default cohortProject('@cohort/e2e', { testTimeout: 600_000, oneFileAtATime: true });
