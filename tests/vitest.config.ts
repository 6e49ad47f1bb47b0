import { cohortProject } from '../vitest.shared';

export default cohortProject('@cohort/tests', { testTimeout: 600_000 });
