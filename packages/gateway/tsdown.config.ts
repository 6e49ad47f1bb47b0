import { cohortBuild } from '../../tsdown.base.ts';

export default cohortBuild({
  entry: {
    index: 'src/index.ts',
  },
  platform: 'node',
});
