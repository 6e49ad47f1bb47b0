import { cohortBuild } from '../../tsdown.base.ts';

export default cohortBuild({
  entry: {
    index: 'src/index.ts',
    node: 'src/node.ts',
    // Started by the data-parallel learner as `new URL('./data-parallel-worker.js', import.meta.url)`.
    'data-parallel-worker': 'src/node/data-parallel-worker.ts',
  },
  platform: 'neutral',
});
