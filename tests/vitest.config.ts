import { cohortProject } from '../vitest.shared.ts';

// The end-to-end files under e2e/ are a project of their own (e2e/vitest.config.ts).
export default cohortProject('@cohort/tests', { testTimeout: 600_000, exclude: ['e2e/**'] });
