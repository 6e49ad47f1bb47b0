// Run as a program of its own by onnx-learner-pool.test.ts: a pool is used, released, and the
// program goes on after the release (it printed nothing and exited 13 when release() waited on
// unref'd workers).
import { createGptModel, initializeBackend } from '@cohort/tfjs';
import { createOnnxLearnerPool } from '../onnx-learner-pool';

await initializeBackend({ backend: 'wasm', logger: false });
const model = createGptModel({
  config: { vocabSize: 20, contextLength: 16, embeddingSize: 8, layerCount: 1, headCount: 2 },
  seed: 1,
});
const pool = await createOnnxLearnerPool({ family: 'gpt2', config: model.config, workerCount: 2 });
const { shape } = await pool.logProbs(model.namedVariables(), {
  sequences: [
    [1, 2, 3],
    [4, 5],
  ],
});
await pool.release();
console.log(`released after a call of shape ${shape.join('x')}`);
