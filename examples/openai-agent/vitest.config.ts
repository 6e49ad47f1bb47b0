import { cohortProject } from '../../vitest.shared.ts';

export default cohortProject('example-openai-agent');
