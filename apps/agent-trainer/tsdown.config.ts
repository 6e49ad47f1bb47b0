import { cohortBuild } from '../../tsdown.base.ts';

export default cohortBuild({
  entry: {
    index: 'src/index.ts',
    'agent-trainer': 'src/bin.ts',
    'user-module-hooks': 'src/user-module-hooks.js',
  },
  platform: 'node',
});
