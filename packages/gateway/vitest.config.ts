import { cohortProject } from '../../vitest.shared.ts';

export default cohortProject('@cohort/gateway');
