/**
 * The learner's forward+backward on the tfjs WASM fast path, this tree against
 * a base commit, alternating in one run: seconds per step, tokens/s, GFLOP/s,
 * kernels launched per step and the tfjs-tracked peak bytes, at the shipped
 * shape (vocabulary 1024, width 128, 2 layers, 4 heads, 0.56M parameters) and
 * at an 11M-parameter shape (width 384, 6 layers, 6 heads), batch 8 of ~160
 * tokens (the GRPO update of the default app: log-probs with entropy).
 * The base's `packages/tfjs/src` is extracted with `git archive` into
 * `packages/tfjs/.cohort-cache/` and imported from there.
 *
 * Run: pnpm exec tsx --conditions=@cohort/source bench/tfjs-learner.ts [--base <commit>] [--rounds 3] [--shapes shipped,11M]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '../packages/tfjs/node_modules/@tensorflow/tfjs/dist/tf.node.js';
import * as current from '../packages/tfjs/src/index';

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(name);
  return index >= 0 ? (process.argv[index + 1] ?? fallback) : fallback;
}

const base = argument('--base', 'main');
const rounds = Number(argument('--rounds', '3'));
// Comma-separated subset of the shapes below; default both.
const only = argument('--shapes', 'shipped,11M').split(',');
const root = fileURLToPath(new URL('..', import.meta.url));
const baseCommit = execFileSync('git', ['rev-parse', base], { cwd: root }).toString().trim();
const baseDirectory = `${root}packages/tfjs/.cohort-cache/bench-base-${baseCommit.slice(0, 10)}`;
rmSync(baseDirectory, { recursive: true, force: true });
mkdirSync(baseDirectory, { recursive: true });
execFileSync(
  'sh',
  [
    '-c',
    `git archive ${baseCommit} packages/tfjs/src | tar -x -C ${baseDirectory} --strip-components=2`,
  ],
  { cwd: root },
);
const before = (await import(`${baseDirectory}/src/index.ts`)) as typeof current;

const choice = await current.initializeBackend({ backend: 'wasm', logger: false });

const shapes = {
  shipped: { vocabSize: 1024, contextLength: 256, embeddingSize: 128, layerCount: 2, headCount: 4 },
  '11M': { vocabSize: 1024, contextLength: 256, embeddingSize: 384, layerCount: 6, headCount: 6 },
};
const batchSize = 8;
const longest = 160;
// Lengths differ as in a GRPO minibatch, so padding and masks are exercised.
const sequences = Array.from({ length: batchSize }, (_, b) =>
  Array.from({ length: longest - (b % 4) * 9 }, (_, t) => (b * 131 + t * 37 + 5) % 1024),
);
const tokens = sequences.reduce((sum, sequence) => sum + sequence.length, 0);
const advantages = tf.tensor2d(
  sequences.map((_, b) => Array.from({ length: longest }, () => (b % 2 === 0 ? 1 : -0.5))),
);

/** Training FLOPs of one step: 3x the forward (2 per multiply-add), attention over the padded length. */
function stepFlops(config: (typeof shapes)['shipped']): number {
  const { embeddingSize: width, layerCount, vocabSize } = config;
  const perToken = 2 * (layerCount * 12 * width * width + width * vocabSize);
  const attention = layerCount * 4 * longest * width;
  return 3 * batchSize * longest * (perToken + attention);
}

type Library = typeof current;

function makeStep(library: Library, config: (typeof shapes)['shipped']) {
  const model = library.createGptModel({ config, seed: 3 });
  const optimizer = library.createOptimizer({
    type: 'adamw',
    learningRate: 1e-4,
    maxGradNorm: 1,
    variables: model.namedVariables(),
  });
  const step = () => {
    const { value, grads } = tf.variableGrads(() => {
      const { logProbs, entropy, mask } = library.tokenLogProbs(model, {
        sequences,
        withEntropy: true,
      });
      const objective = logProbs
        .mul(advantages)
        .add((entropy as tf.Tensor).mul(0.01))
        .sum()
        .div(mask.sum());
      return objective.neg() as tf.Scalar;
    }, model.trainableVariables());
    optimizer.applyGradients(grads);
    const loss = value.dataSync()[0] as number;
    tf.dispose([value, grads]);
    return loss;
  };
  const dispose = () => {
    optimizer.dispose();
    model.dispose();
  };
  return { step, dispose };
}

function wasmHeapBytes(): number {
  const backend = tf.backend() as unknown as { wasm?: { HEAPU8: Uint8Array } };
  return backend.wasm?.HEAPU8.length ?? 0;
}

async function profile(library: Library, config: (typeof shapes)['shipped']) {
  const { step, dispose } = makeStep(library, config);
  step();
  const info = await tf.profile(() => {
    step();
  });
  dispose();
  // Op scopes (custom gradients, composite ops) are listed too; count only registered kernels.
  const kernels = info.kernels.filter((kernel) => tf.getKernel(kernel.name, 'wasm') !== undefined);
  return { kernelsPerStep: kernels.length, peakTrackedBytes: info.peakBytes };
}

function time(library: Library, config: (typeof shapes)['shipped'], steps: number) {
  const { step, dispose } = makeStep(library, config);
  step();
  const start = performance.now();
  let loss = 0;
  for (let index = 0; index < steps; index++) loss = step();
  const seconds = (performance.now() - start) / 1000 / steps;
  dispose();
  return { secondsPerStep: seconds, loss };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

const results: Record<string, unknown> = {};
for (const [name, config] of Object.entries(shapes).filter(([name]) => only.includes(name))) {
  const steps = name === 'shipped' ? 4 : 2;
  const profiles = { before: await profile(before, config), after: await profile(current, config) };
  const seconds: { before: number[]; after: number[] } = { before: [], after: [] };
  const losses: { before: number; after: number } = { before: 0, after: 0 };
  for (let round = 0; round < rounds; round++) {
    for (const [label, library] of [
      ['before', before],
      ['after', current],
    ] as const) {
      const { secondsPerStep, loss } = time(library, config, steps);
      seconds[label].push(secondsPerStep);
      losses[label] = loss;
      process.stderr.write(
        `${name} ${label} round ${round}: ${secondsPerStep.toFixed(3)} s/step\n`,
      );
    }
  }
  const ratios = seconds.before.map((value, index) => value / (seconds.after[index] as number));
  const flops = stepFlops(config);
  const summary = (label: 'before' | 'after') => ({
    medianSecondsPerStep: median(seconds[label]),
    tokensPerSecond: tokens / median(seconds[label]),
    gflops: flops / median(seconds[label]) / 1e9,
    ...profiles[label],
    lossAfterSteps: losses[label],
  });
  results[name] = {
    config,
    parameterCount: (() => {
      const model = current.createGptModel({ config, seed: 3 });
      const count = model.parameterCount();
      model.dispose();
      return count;
    })(),
    stepGflop: flops / 1e9,
    before: summary('before'),
    after: summary('after'),
    speedupPerRound: ratios,
    medianSpeedup: median(ratios),
  };
  console.log(name, JSON.stringify(results[name], null, 2));
}

const result = {
  benchmark: 'tfjs-learner',
  date: new Date().toISOString(),
  backend: choice.reason,
  base: baseCommit,
  batch: { batchSize, longest, tokens },
  rounds,
  wasmHeapBytesAtEnd: wasmHeapBytes(),
  shapes: results,
};
writeFileSync(`${root}bench/results/tfjs-learner.json`, `${JSON.stringify(result, null, 2)}\n`);
rmSync(baseDirectory, { recursive: true, force: true });
