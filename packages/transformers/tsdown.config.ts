import { cohortBuild } from '../../tsdown.base.ts';

export default cohortBuild({
  entry: {
    index: 'src/index.ts',
    // The ONNX Runtime engine without transformers.js (see src/onnx.ts).
    onnx: 'src/onnx.ts',
    // Started by OnnxLearnerPool as `new URL('./onnx-learner-worker.js', import.meta.url)`.
    'onnx-learner-worker': 'src/onnx-learner-worker.ts',
  },
  platform: 'node',
});
