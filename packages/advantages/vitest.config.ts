import { cohortProject } from '../../vitest.shared';

export default cohortProject('@cohort/advantages');
