/**
 * The exploration of issue 14 (backward pass on ONNX Runtime), measured at
 * its cheapest bound: the forward pass alone of the whole model at the
 * learner's shape (batch 8 x 160 tokens), tfjs WASM fast path against
 * onnxruntime-node running the exported graph, alternating in one run. A
 * hand-built backward graph has about twice the forward's work, so unless the
 * forward alone is well over 2x faster on ONNX Runtime, forward+backward
 * there cannot reach the 2x that would justify it as the learning engine.
 *
 * Run: pnpm exec tsx --conditions=@cohort/source bench/onnx-learner-forward.ts [--rounds 3] [--threads 1]
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as tf from '../packages/tfjs/node_modules/@tensorflow/tfjs/dist/tf.node.js';
import * as ort from '../packages/tfjs/node_modules/onnxruntime-node/dist/index.js';
import {
  createGptModel,
  exportGpt2ToOnnx,
  initializeBackend,
  randomGpt2Weights,
} from '../packages/tfjs/src/index';

const roundsIndex = process.argv.indexOf('--rounds');
const rounds = roundsIndex >= 0 ? Number(process.argv[roundsIndex + 1]) : 3;
// One thread by default: tfjs WASM runs on one core, so this compares per core.
const threadsIndex = process.argv.indexOf('--threads');
const threads = threadsIndex >= 0 ? Number(process.argv[threadsIndex + 1]) : 1;
await initializeBackend({ backend: 'wasm', logger: false });
const shapes = {
  shipped: { vocabSize: 1024, contextLength: 256, embeddingSize: 128, layerCount: 2, headCount: 4 },
  '11M': { vocabSize: 1024, contextLength: 256, embeddingSize: 384, layerCount: 6, headCount: 6 },
};
const batchSize = 8;
const length = 160;
const ids = Array.from({ length: batchSize }, (_, b) =>
  Array.from({ length }, (_, t) => (b * 131 + t * 37 + 5) % 1024),
);
const positions = ids.map((row) => row.map((_, t) => t));
const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

const results: Record<string, unknown> = {};
for (const [name, config] of Object.entries(shapes)) {
  const weights = randomGpt2Weights({ config, seed: 1, scale: 0.05 });
  const model = createGptModel({ config });
  model.setWeights(weights);
  const session = await ort.InferenceSession.create(exportGpt2ToOnnx({ config, weights }), {
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
  });
  const int64 = (rows: number[][]) =>
    new ort.Tensor('int64', BigInt64Array.from(rows.flat(), BigInt), [rows.length, length]);
  const headSize = config.embeddingSize / config.headCount;
  const feeds: Record<string, ort.Tensor> = {
    input_ids: int64(ids),
    attention_mask: int64(ids.map((row) => row.map(() => 1))),
    position_ids: int64(positions),
  };
  for (let layer = 0; layer < config.layerCount; layer++) {
    for (const part of ['key', 'value']) {
      feeds[`past_key_values.${layer}.${part}`] = new ort.Tensor('float32', new Float32Array(0), [
        batchSize,
        config.headCount,
        0,
        headSize,
      ]);
    }
  }
  const runners = {
    tfjs: async () => {
      const { logits, presentKeyValues } = model.forward(ids, { positionIds: positions });
      logits.dataSync();
      tf.dispose([logits, ...presentKeyValues.flatMap(({ key, value }) => [key, value])]);
    },
    onnxruntime: async () => {
      await session.run(feeds);
    },
  };
  const seconds: Record<string, number[]> = { tfjs: [], onnxruntime: [] };
  for (const run of Object.values(runners)) await run();
  for (let round = 0; round < rounds; round++) {
    for (const [label, run] of Object.entries(runners)) {
      const start = performance.now();
      await run();
      await run();
      seconds[label]?.push((performance.now() - start) / 2000);
    }
  }
  const ratios = (seconds.tfjs as number[]).map(
    (value, index) => value / ((seconds.onnxruntime as number[])[index] as number),
  );
  results[name] = { seconds, onnxOverTfjsSpeedPerRound: ratios, median: median(ratios) };
  console.log(name, JSON.stringify(results[name]));
  await session.release();
  model.dispose();
}
writeFileSync(
  fileURLToPath(new URL('./results/onnx-learner-forward.json', import.meta.url)),
  `${JSON.stringify({ benchmark: 'onnx-learner-forward', date: new Date().toISOString(), loadAverage: loadavg(), onnxruntimeThreads: threads, batchSize, length, rounds, shapes: results }, null, 2)}\n`,
);
