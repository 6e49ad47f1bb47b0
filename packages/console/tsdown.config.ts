import { cohortBuild } from '../../tsdown.base.ts';

export default cohortBuild({
  entry: {
    index: 'src/index.ts',
    'build-web': 'src/build-web.ts',
  },
  platform: 'node',
});
