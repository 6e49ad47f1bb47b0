import { cohortBuild } from '../../tsdown.base.ts';

export default cohortBuild({
  entry: {
    index: 'src/index.ts',
    // Imported by the data-parallel learner's workers as `new URL('./policy-shard-loss.js', import.meta.url)`.
    'policy-shard-loss': 'src/policy-shard-loss.ts',
  },
  platform: 'node',
});
