/**
 * Learner tokens/s with data-parallel gradients over worker_threads, 1 worker
 * against N (default: one per core), alternating in one run, at the shipped
 * shape (0.56M parameters) and an 11M-parameter shape; batch 8 of ~160 tokens.
 * One step = copy the leader's weights to the workers, gradients of the
 * shards, sum, AdamW on the leader. Also reports the machine's load average,
 * since other processes share the cores.
 *
 * Run: pnpm exec tsx --conditions=@cohort/source bench/tfjs-data-parallel.ts [--workers 2] [--rounds 3]
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as tf from '../packages/tfjs/node_modules/@tensorflow/tfjs/dist/tf.node.js';
import { createGptModel, createOptimizer, initializeBackend } from '../packages/tfjs/src/index';
import { createDataParallelLearner } from '../packages/tfjs/src/node';
import type { WeightedItem } from '../packages/tfjs/src/node/test-fixtures/weighted-nll-loss';

function argument(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

const workers = argument('--workers', availableParallelism());
const rounds = argument('--rounds', 3);
await initializeBackend({ backend: 'wasm', logger: false });
// The GRPO update's shape of loss: advantage-weighted log-probs plus an entropy bonus, token mean.
const lossModule = new URL(
  '../packages/tfjs/src/node/test-fixtures/weighted-nll-loss.ts',
  import.meta.url,
).href;
const shapes = {
  shipped: { vocabSize: 1024, contextLength: 256, embeddingSize: 128, layerCount: 2, headCount: 4 },
  '11M': { vocabSize: 1024, contextLength: 256, embeddingSize: 384, layerCount: 6, headCount: 6 },
};
const items: WeightedItem[] = Array.from({ length: 8 }, (_, b) => ({
  tokenIds: Array.from({ length: 160 - (b % 4) * 9 }, (_, t) => (b * 131 + t * 37 + 5) % 1024),
  advantage: b % 2 === 0 ? 1 : -0.5,
}));
const tokens = items.reduce((sum, item) => sum + item.tokenIds.length, 0);
const shared = { tokenCount: tokens - items.length };
const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

const results: Record<string, unknown> = {};
const loadBefore = loadavg();
for (const [name, config] of Object.entries(shapes)) {
  const steps = name === 'shipped' ? 3 : 1;
  const learners = {
    one: await createDataParallelLearner({ config, lossModule, workerCount: 1 }),
    many: await createDataParallelLearner({ config, lossModule, workerCount: workers }),
  };
  const seconds: { one: number[]; many: number[] } = { one: [], many: [] };
  for (let round = 0; round < rounds; round++) {
    for (const label of ['one', 'many'] as const) {
      const learner = learners[label];
      const model = createGptModel({ config, seed: 4 });
      const optimizer = createOptimizer({
        learningRate: 1e-4,
        maxGradNorm: 1,
        variables: model.namedVariables(),
      });
      const step = async () => {
        await learner.setWeights(model);
        const { gradients } = await learner.computeGradients({ items, shared });
        optimizer.applyGradients(gradients);
        tf.dispose(gradients);
      };
      await step();
      const start = performance.now();
      for (let index = 0; index < steps; index++) await step();
      seconds[label].push((performance.now() - start) / 1000 / steps);
      process.stderr.write(
        `${name} ${label} round ${round}: ${(seconds[label].at(-1) as number).toFixed(3)} s/step\n`,
      );
      optimizer.dispose();
      model.dispose();
    }
  }
  await Promise.all([learners.one.dispose(), learners.many.dispose()]);
  const ratios = seconds.one.map((value, index) => value / (seconds.many[index] as number));
  results[name] = {
    config,
    oneWorker: { secondsPerStep: seconds.one, tokensPerSecond: tokens / median(seconds.one) },
    [`${workers}Workers`]: {
      secondsPerStep: seconds.many,
      tokensPerSecond: tokens / median(seconds.many),
    },
    speedupPerRound: ratios,
    medianSpeedup: median(ratios),
  };
  console.log(name, JSON.stringify(results[name]));
}
writeFileSync(
  fileURLToPath(new URL('./results/tfjs-data-parallel.json', import.meta.url)),
  `${JSON.stringify(
    {
      benchmark: 'tfjs-data-parallel',
      date: new Date().toISOString(),
      cores: availableParallelism(),
      workers,
      batch: { sequences: items.length, tokens },
      loadAverageBefore: loadBefore,
      loadAverageAfter: loadavg(),
      rounds,
      shapes: results,
    },
    null,
    2,
  )}\n`,
);
