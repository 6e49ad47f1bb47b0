import { cohortBuild } from '../../tsdown.base.ts';

export default cohortBuild({
  entry: {
    index: 'src/index.ts',
    nats: 'src/nats.ts',
  },
  platform: 'neutral',
});
