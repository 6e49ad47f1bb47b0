/**
 * Issue 14's ONNX learning engine, decided by numbers: one SFT step
 * (forward, backward and the tfjs AdamW with clipping) of a Llama-family
 * model with tfjs autodiff against the hand-written backward graph on
 * onnxruntime-node (`createOnnxLlamaLearner`) at 1 and 2 threads, alternating
 * engines every round (their order rotated) in one run, each engine on its
 * own copy of the same weights. Shapes: issue 21's tool agent (`sft --family
 * llama` defaults: width 128, MLP 352, 2 layers, 4 heads, 2 key/value heads,
 * tied, vocabulary 1024) at batch 8 x 543 tokens, and an ~11M-parameter
 * Llama (width 384, MLP 1152, 6 layers, 6 heads, 2 key/value heads) at
 * batch 8 x 256. Before timing, the gradients of both engines at the same
 * weights are compared (the max difference is reported). Sequences are right-padded
 * (lengths from 85% of the longest up to it); tokens/s counts real tokens.
 *
 * Run: nice -n 15 pnpm exec tsx --conditions=@cohort/source bench/onnx-llama-learner.ts [--rounds 3] [--shapes issue21,11M]
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Random } from '../packages/core/src/index';
import * as tf from '../packages/tfjs/node_modules/@tensorflow/tfjs/dist/tf.node.js';
import {
  createLlamaModel,
  createOptimizer,
  initializeBackend,
  type LlamaConfigInput,
  type LlamaModel,
  randomLlamaWeights,
  tokenLogProbs,
} from '../packages/tfjs/src/index';
import { createOnnxLlamaLearner, type OnnxLearner } from '../packages/transformers/src/index';
import { elevenMillionShape, toolAgentShape } from './llama-shapes';

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(name);
  return index >= 0 ? (process.argv[index + 1] as string) : fallback;
}
const rounds = Number(argument('--rounds', '3'));
const only = argument('--shapes', 'issue21,11M').split(',');
await initializeBackend({ backend: 'wasm', logger: false });

const shapes: Record<string, { config: LlamaConfigInput; batchSize: number; length: number }> = {
  issue21: {
    config: toolAgentShape,
    batchSize: 8,
    length: 543,
  },
  '11M': {
    config: elevenMillionShape,
    batchSize: 8,
    length: 256,
  },
};

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const load = () => Number((loadavg()[0] as number).toFixed(2));

type Engine = 'tfjs' | 'onnx-1' | 'onnx-2';
const engines: Engine[] = ['tfjs', 'onnx-1', 'onnx-2'];

const results: Record<string, unknown> = {};
for (const [shapeName, { config, batchSize, length }] of Object.entries(shapes)) {
  if (!only.includes(shapeName)) continue;
  const random = new Random(1);
  const sequences = Array.from({ length: batchSize }, (_, b) => {
    const size = b === 0 ? length : random.int(Math.floor(0.85 * length), length);
    return Array.from({ length: size }, () => random.int(1, (config.vocabSize as number) - 1));
  });
  const realTokens = sequences.reduce((sum, sequence) => sum + sequence.length, 0);
  const maskRows = sequences.map((sequence) =>
    Array.from({ length }, (_, t) => (t > 0 && t < sequence.length ? 1 : 0)),
  );
  const count = maskRows.flat().reduce((a, b) => a + b, 0);
  const dLogp = maskRows.map((row) => row.map((value) => -value / count));
  const weights = randomLlamaWeights({ config, seed: 2, scale: 0.02 });
  const models = new Map<Engine, LlamaModel>();
  const learners = new Map<Engine, OnnxLearner>();
  for (const engine of engines) {
    const model = createLlamaModel({ config, zeroInitialize: true });
    model.setWeights(weights);
    models.set(engine, model);
    if (engine !== 'tfjs')
      learners.set(
        engine,
        await createOnnxLlamaLearner({
          config: model.config,
          intraOpNumThreads: engine === 'onnx-1' ? 1 : 2,
        }),
      );
  }
  const parameterCount = (models.get('tfjs') as LlamaModel).parameterCount().base;
  const gradientsOf = async (engine: Engine): Promise<tf.NamedTensorMap> => {
    const model = models.get(engine) as LlamaModel;
    if (engine === 'tfjs') {
      const variables = model.namedVariables();
      const { value, grads } = tf.variableGrads(() => {
        const output = tokenLogProbs(model, { sequences, padTokenId: 0 });
        const mask = tf.tensor2d(maskRows);
        const loss = output.logProbs.mul(mask).sum().neg().div(mask.sum()) as tf.Scalar;
        output.mask.dispose();
        return loss;
      });
      value.dispose();
      // Keyed by the names the optimizer was given, like the ONNX gradients.
      return Object.fromEntries(
        Object.entries(variables).map(([name, variable]) => [name, grads[variable.name]!]),
      );
    }
    const learner = learners.get(engine) as OnnxLearner;
    return (await learner.gradients(model.namedVariables(), { sequences }, dLogp)).gradients;
  };

  // The gradients of both engines at the same weights.
  const reference = await gradientsOf('tfjs');
  const onnx = await gradientsOf('onnx-1');
  let maxAbsolute = 0;
  let maxRelative = 0;
  for (const [name, gradient] of Object.entries(reference)) {
    const a = gradient.dataSync() as Float32Array;
    const b = (onnx[name] as tf.Tensor).dataSync() as Float32Array;
    let scale = 0;
    let largest = 0;
    for (let index = 0; index < a.length; index++) {
      scale = Math.max(scale, Math.abs(a[index]!));
      largest = Math.max(largest, Math.abs(a[index]! - b[index]!));
    }
    maxAbsolute = Math.max(maxAbsolute, largest);
    maxRelative = Math.max(maxRelative, largest / scale);
  }
  tf.dispose([...Object.values(reference), ...Object.values(onnx)]);

  const optimizers = new Map(
    engines.map((engine) => [
      engine,
      createOptimizer({
        type: 'adamw',
        learningRate: 1e-3,
        weightDecay: 0.01,
        maxGradNorm: 1,
        variables: (models.get(engine) as LlamaModel).namedVariables(),
      }),
    ]),
  );
  const step = async (engine: Engine): Promise<number> => {
    const started = performance.now();
    const grads = await gradientsOf(engine);
    optimizers.get(engine)?.applyGradients(grads);
    tf.dispose(Object.values(grads));
    return (performance.now() - started) / 1000;
  };
  for (const engine of engines) await step(engine); // warm-up
  const seconds = new Map<Engine, number[]>(engines.map((engine) => [engine, []]));
  const loads: number[] = [load()];
  for (let round = 0; round < rounds; round++) {
    for (let offset = 0; offset < engines.length; offset++) {
      const engine = engines[(round + offset) % engines.length] as Engine;
      seconds.get(engine)?.push(await step(engine));
    }
    loads.push(load());
    console.log(
      `${shapeName} round ${round + 1}: ${engines
        .map((engine) => `${engine} ${seconds.get(engine)?.at(-1)?.toFixed(3)} s`)
        .join(', ')} (load ${loads.at(-1)})`,
    );
  }
  const tfjsSeconds = seconds.get('tfjs') as number[];
  const summary: Record<string, unknown> = {};
  for (const engine of engines) {
    const values = seconds.get(engine) as number[];
    const ratios = values.map((value, round) => (tfjsSeconds[round] as number) / value);
    summary[engine] = {
      secondsPerStep: values.map((value) => Number(value.toFixed(3))),
      medianSecondsPerStep: Number(median(values).toFixed(3)),
      tokensPerSecond: Math.round(realTokens / median(values)),
      speedupOverTfjs: {
        median: Number(median(ratios).toFixed(2)),
        min: Number(Math.min(...ratios).toFixed(2)),
        max: Number(Math.max(...ratios).toFixed(2)),
      },
    };
  }
  results[shapeName] = {
    config,
    parameterCount,
    batchSize,
    paddedLength: length,
    realTokens,
    gradientDifference: {
      maxAbsolute: Number(maxAbsolute.toExponential(2)),
      maxRelativeToLargestEntry: Number(maxRelative.toExponential(2)),
    },
    engines: summary,
    loadAverage: loads,
  };
  console.log(JSON.stringify(results[shapeName], null, 2));
  for (const model of models.values()) model.dispose();
  for (const learner of learners.values()) await learner.release();
  for (const optimizer of optimizers.values()) optimizer.dispose();
}

const path = fileURLToPath(new URL('./results/onnx-llama-learner.json', import.meta.url));
writeFileSync(
  path,
  `${JSON.stringify(
    {
      bench: 'onnx-llama-learner',
      date: new Date().toISOString(),
      rounds,
      note: 'one SFT step (forward, backward, AdamW) per engine per round, alternating; run under nice -n 15 beside a training job at nice 0 on one of 2 cores',
      results,
    },
    null,
    2,
  )}\n`,
);
console.log(`wrote ${path}`);
