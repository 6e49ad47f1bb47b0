/**
 * Training tokens per second of a small GPT (4 layers, width 128, 4 heads,
 * sequence 64, batch 16, byte vocabulary) with Cohort's fast WASM path versus
 * the same model on plain tfjs ops, in one run on the same backend.
 * Run: pnpm exec tsx --conditions=@cohort/source bench/tfjs-train.ts
 */
import { writeFileSync } from 'node:fs';
import * as tf from '../packages/tfjs/node_modules/@tensorflow/tfjs/dist/tf.node.js';
import {
  createGptModel,
  createOptimizer,
  type GptOps,
  initializeBackend,
  tokenLogProbs,
} from '../packages/tfjs/src/index';

const config = {
  vocabSize: 256,
  contextLength: 64,
  embeddingSize: 128,
  layerCount: 4,
  headCount: 4,
};
const batchSize = 16;
const sequenceLength = 64;
const choice = await initializeBackend({
  backend: process.argv.includes('--auto') ? 'auto' : 'wasm',
  logger: false,
});
const sequences = Array.from({ length: batchSize }, (_, b) =>
  Array.from({ length: sequenceLength }, (_, t) => (b * 31 + t * 7) % 256),
);

function run(ops: GptOps, steps: number) {
  const model = createGptModel({ config, seed: 1, ops });
  const optimizer = createOptimizer({
    type: 'adamw',
    learningRate: 1e-3,
    weightDecay: 0.01,
    maxGradNorm: 1,
    variables: model.namedVariables(),
  });
  const step = () => {
    const { value, grads } = tf.variableGrads(() => {
      const { logProbs, mask } = tokenLogProbs(model, { sequences });
      return logProbs.sum().neg().div(mask.sum()) as tf.Scalar;
    }, model.trainableVariables());
    optimizer.applyGradients(grads);
    const loss = value.dataSync()[0] as number;
    tf.dispose([value, grads]);
    return loss;
  };
  step();
  const start = performance.now();
  let loss = 0;
  for (let index = 0; index < steps; index++) loss = step();
  const seconds = (performance.now() - start) / 1000;
  optimizer.dispose();
  model.dispose();
  const tokensPerSecond = (steps * batchSize * sequenceLength) / seconds;
  console.log(
    `${ops}: ${(seconds / steps).toFixed(3)} s/step, ${tokensPerSecond.toFixed(0)} tokens/s, loss ${loss.toFixed(3)}`,
  );
  return { secondsPerStep: seconds / steps, tokensPerSecond, steps, finalLoss: loss };
}

const fast = run('fast', 8);
const plain = run('plain', 3);
const result = {
  backend: choice.backend,
  reason: choice.reason,
  model: { ...config, batchSize, sequenceLength, optimizer: 'adamw' },
  fast,
  plain,
  speedup: fast.tokensPerSecond / plain.tokensPerSecond,
};
console.log(`speedup ${result.speedup.toFixed(2)}x`);
writeFileSync('bench/results/tfjs-train.json', `${JSON.stringify(result, null, 2)}\n`);
