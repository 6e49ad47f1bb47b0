import { cohortProject } from '../vitest.shared.ts';

export default cohortProject('@cohort/tests', { testTimeout: 600_000 });
