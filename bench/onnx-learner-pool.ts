/**
 * Issue 14's learner scaling, 1 worker against N: the gradients of one
 * learner call (forward and backward of every sequence, the default run's
 * objective's shape: an upstream per token) on ONNX Runtime with one thread,
 * with N intra-op threads, and over an `OnnxLearnerPool` of N workers of one
 * thread each, alternating every round (order rotated) in one process, on
 * the same weights. Shapes: the shipped GPT-2 (0.56M parameters, batch 8 x
 * 160), issue 21's tool agent (Llama, batch 8 x 543) and an ~11M-parameter
 * Llama (batch 8 x 256). Sequences are 85-100% of the longest; tokens/s counts
 * real tokens. Before timing, the pool's gradients are compared with one
 * learner's (the largest difference relative to each gradient's largest entry
 * is reported). One thread runs one sequence per ONNX Runtime run (the app's
 * memory-saving default), the whole batch in one run, and runs of up to 1024
 * padded tokens (the pool's default); the pool its default and one sequence a
 * run. speedupOverBestOneThread divides the fastest one-thread setting of each
 * round by the side's time. GFLOP/s counts 6 x parameters per real token
 * (the weights' products forward and backward).
 *
 * Results: bench/results/onnx-learner-pool.json.
 *
 * Run: pnpm exec tsx --conditions=@cohort/source bench/onnx-learner-pool.ts [--rounds 5] [--workers 2] [--shapes gpt2,issue21,11M]
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Random } from '../packages/core/src/index';
import * as tf from '../packages/tfjs/node_modules/@tensorflow/tfjs/dist/tf.node.js';
import {
  createGptModel,
  createLlamaModel,
  initializeBackend,
  randomGpt2Weights,
  randomLlamaWeights,
} from '../packages/tfjs/src/index';
import {
  createOnnxGptLearner,
  createOnnxLearnerPool,
  createOnnxLlamaLearner,
} from '../packages/transformers/src/index';
import { elevenMillionShape, toolAgentShape } from './llama-shapes';

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(name);
  return index >= 0 ? (process.argv[index + 1] as string) : fallback;
}
const rounds = Number(argument('--rounds', '5'));
const workers = Number(argument('--workers', String(availableParallelism())));
const only = argument('--shapes', 'gpt2,issue21,11M').split(',');
await initializeBackend({ backend: 'wasm', logger: false });

const shapes = {
  gpt2: { family: 'gpt2' as const, length: 160 },
  issue21: { family: 'llama' as const, config: toolAgentShape, length: 543 },
  '11M': { family: 'llama' as const, config: elevenMillionShape, length: 256 },
};
const gptConfig = {
  vocabSize: 1024,
  contextLength: 256,
  embeddingSize: 128,
  layerCount: 2,
  headCount: 4,
};

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const load = () => Number((loadavg()[0] as number).toFixed(2));

type Side =
  | 'one thread'
  | 'one thread, one run'
  | `${number} threads`
  | `pool of ${number}`
  | 'one thread, 1024 tokens a run'
  | `pool of ${number}, one sequence a run`;
const results: Record<string, unknown> = {};
for (const [name, shape] of Object.entries(shapes)) {
  if (!only.includes(name)) continue;
  const random = new Random(1);
  const sequences = Array.from({ length: 8 }, (_, b) => {
    const size = b === 0 ? shape.length : random.int(Math.floor(0.85 * shape.length), shape.length);
    return Array.from({ length: size }, () => random.int(1, 1023));
  });
  const realTokens = sequences.reduce((sum, sequence) => sum + sequence.length, 0);
  const dLogp = sequences.map((sequence) =>
    Array.from({ length: shape.length }, (_, t) =>
      t > 0 && t < sequence.length ? -1 / realTokens : 0,
    ),
  );
  let model: ReturnType<typeof createGptModel> | ReturnType<typeof createLlamaModel>;
  let parameterCount: number;
  const learners = new Map<
    Side,
    | Awaited<ReturnType<typeof createOnnxGptLearner>>
    | Awaited<ReturnType<typeof createOnnxLearnerPool>>
  >();
  type LearnerOptions = {
    sequencesPerRun?: number;
    tokensPerRun?: number;
    intraOpNumThreads?: number;
  };
  let single: (options: LearnerOptions) => ReturnType<typeof createOnnxGptLearner>;
  let pool: (options: { sequencesPerRun?: number }) => ReturnType<typeof createOnnxLearnerPool>;
  if (shape.family === 'gpt2') {
    const gpt = createGptModel({ config: gptConfig, seed: 1 });
    gpt.setWeights(randomGpt2Weights({ config: gpt.config, seed: 2, scale: 0.02 }));
    model = gpt;
    parameterCount = Object.values(gpt.namedVariables()).reduce((sum, v) => sum + v.size, 0);
    single = (options) => createOnnxGptLearner({ config: gpt.config, ...options });
    pool = (options) =>
      createOnnxLearnerPool({
        family: 'gpt2',
        config: gpt.config,
        workerCount: workers,
        ...options,
      });
  } else {
    const l = createLlamaModel({ config: shape.config, zeroInitialize: true });
    l.setWeights(randomLlamaWeights({ config: l.config, seed: 2, scale: 0.02 }));
    model = l;
    parameterCount = l.parameterCount().base;
    single = (options) => createOnnxLlamaLearner({ config: l.config, ...options });
    pool = (options) =>
      createOnnxLearnerPool({
        family: 'llama',
        config: l.config,
        workerCount: workers,
        ...options,
      });
  }
  learners.set('one thread', await single({ sequencesPerRun: 1 }));
  learners.set(
    `${workers} threads`,
    await single({ sequencesPerRun: 1, intraOpNumThreads: workers }),
  );
  learners.set('one thread, one run', await single({ sequencesPerRun: 8 }));
  learners.set('one thread, 1024 tokens a run', await single({ tokensPerRun: 1024 }));
  learners.set(`pool of ${workers}, one sequence a run`, await pool({ sequencesPerRun: 1 }));
  learners.set(`pool of ${workers}`, await pool({}));
  const variables = model.namedVariables();
  const gradients = async (side: Side) => {
    const learner = learners.get(side)!;
    return (await learner.gradients(variables, { sequences }, dLogp)).gradients;
  };
  // The pool's gradients against one learner's.
  const one = await gradients('one thread');
  const pooled = await gradients(`pool of ${workers}`);
  let largestRelative = 0;
  for (const [weight, tensor] of Object.entries(one)) {
    const a = tensor.dataSync() as Float32Array;
    const b = (pooled[weight] as tf.Tensor).dataSync() as Float32Array;
    let scale = 0;
    let largest = 0;
    for (let index = 0; index < a.length; index++) {
      scale = Math.max(scale, Math.abs(a[index]!));
      largest = Math.max(largest, Math.abs(a[index]! - b[index]!));
    }
    if (scale > 0) largestRelative = Math.max(largestRelative, largest / scale);
  }
  tf.dispose([...Object.values(one), ...Object.values(pooled)]);
  const sides = [...learners.keys()];
  const seconds = new Map<Side, number[]>(sides.map((side) => [side, []]));
  const time = async (side: Side) => {
    const started = performance.now();
    tf.dispose(Object.values(await gradients(side)));
    return (performance.now() - started) / 1000;
  };
  for (const side of sides) await time(side); // warm-up
  const loads = [load()];
  for (let round = 0; round < rounds; round++) {
    for (let offset = 0; offset < sides.length; offset++) {
      const side = sides[(round + offset) % sides.length] as Side;
      seconds.get(side)!.push(await time(side));
    }
    loads.push(load());
    console.log(
      `${name} round ${round + 1}: ${sides.map((side) => `${side} ${seconds.get(side)!.at(-1)!.toFixed(3)} s`).join(', ')} (load ${loads.at(-1)})`,
    );
  }
  const base = seconds.get('one thread')!;
  // The faster one-thread setting, round by round: the pool must beat one thread at its best.
  const best = base.map((value, round) =>
    Math.min(
      value,
      seconds.get('one thread, one run')![round]!,
      seconds.get('one thread, 1024 tokens a run')![round]!,
    ),
  );
  results[name] = {
    parameterCount,
    realTokens,
    paddedLength: shape.length,
    poolGradientDifferenceRelative: Number(largestRelative.toExponential(2)),
    sides: Object.fromEntries(
      sides.map((side) => {
        const values = seconds.get(side)!;
        const ratios = values.map((value, round) => base[round]! / value);
        const overBest = values.map((value, round) => best[round]! / value);
        return [
          side,
          {
            secondsPerCall: values.map((value) => Number(value.toFixed(3))),
            tokensPerSecond: Math.round(realTokens / median(values)),
            // The weights' matrix products forward and backward, 6 N per real token (attention's
            // products and the padding's work left out): a floor on the work done.
            gigaflopsPerSecond: Number(
              ((6 * parameterCount * realTokens) / median(values) / 1e9).toFixed(2),
            ),
            speedupOverOneThread: {
              median: Number(median(ratios).toFixed(2)),
              min: Number(Math.min(...ratios).toFixed(2)),
              max: Number(Math.max(...ratios).toFixed(2)),
            },
            speedupOverBestOneThread: {
              median: Number(median(overBest).toFixed(2)),
              min: Number(Math.min(...overBest).toFixed(2)),
              max: Number(Math.max(...overBest).toFixed(2)),
            },
          },
        ];
      }),
    ),
    loadAverage: loads,
  };
  for (const learner of learners.values()) await learner.release();
}

const output = fileURLToPath(new URL('./results/onnx-learner-pool.json', import.meta.url));
writeFileSync(
  output,
  `${JSON.stringify({ bench: 'onnx-learner-pool', date: new Date().toISOString(), rounds, workers, results }, null, 2)}\n`,
);
console.log(JSON.stringify(results, null, 2));
console.log(`wrote ${output}`);
