/**
 * The exploration of issue 14: forward+backward of a transformer sub-block
 * built explicitly as an ONNX graph (onnxruntime-node runs inference only, so
 * the gradient is written as forward ops) and run by onnxruntime-node, against
 * tfjs (the learner's fast ops and autodiff) on the same shapes, alternating.
 * The sub-block is the MLP half of a GPT-2 block with its residual,
 * `y = x + W2^T gelu(W1^T ln(x) + b1) + b2`, two thirds of a block's FLOPs.
 * Before timing, the ONNX gradients are checked against float64 finite
 * differences (tiny shape) and against tfjs (bench shapes); the run fails if
 * they disagree.
 *
 * Run: pnpm exec tsx --conditions=@cohort/source bench/onnx-block-backward.ts [--rounds 3] [--threads 1]
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as tf from '../packages/tfjs/node_modules/@tensorflow/tfjs/dist/tf.node.js';
import * as ort from '../packages/tfjs/node_modules/onnxruntime-node/dist/index.js';
import { gelu, initializeBackend, layerNorm, linear } from '../packages/tfjs/src/index';
import { OnnxGraphBuilder, onnx } from '../packages/tfjs/src/onnx/onnx-graph-builder';

function argument(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}
const rounds = argument('--rounds', 3);
const threads = argument('--threads', 1);
const epsilon = 1e-5;
const c = Math.sqrt(2 / Math.PI);
const names = ['x', 'gain', 'bias', 'w1', 'b1', 'w2', 'b2'] as const;
const gradientNames = names.map((name) => `d_${name}`);

/** The forward+backward graph: inputs x [N, E], the six parameters and dy; outputs y and every gradient. */
function buildGraph(rows: number, width: number): Uint8Array {
  const inner = 4 * width;
  const g = new OnnxGraphBuilder();
  const s = (value: number) => g.floatScalar(value);
  const rowSum = (value: string) =>
    g.op('ReduceSum', [value, g.int64Constant([0])], { keepdims: 0 });
  const mean = g.op('ReduceMean', ['x'], { axes: [-1], keepdims: 1 });
  const centered = g.op('Sub', ['x', mean]);
  const variance = g.op('ReduceMean', [g.op('Mul', [centered, centered])], {
    axes: [-1],
    keepdims: 1,
  });
  const inverse = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [variance, s(epsilon)])])]);
  const xhat = g.op('Mul', [centered, inverse]);
  const h = g.op('Add', [g.op('Mul', [xhat, 'gain']), 'bias']);
  const a = g.op('Add', [g.op('MatMul', [h, 'w1']), 'b1']);
  const aSquared = g.op('Mul', [a, a]);
  const t = g.op('Tanh', [
    g.op('Mul', [
      g.op('Mul', [a, g.op('Add', [s(1), g.op('Mul', [aSquared, s(0.044715)])])]),
      s(c),
    ]),
  ]);
  const activated = g.op('Mul', [g.op('Mul', [a, s(0.5)]), g.op('Add', [t, s(1)])]);
  g.op('Add', ['x', g.op('Add', [g.op('MatMul', [activated, 'w2']), 'b2'])], {}, 'y');
  // Backward, dy given: dz = dy.
  g.op('Gemm', [activated, 'dy'], { transA: 1 }, 'd_w2');
  g.op('Identity', [rowSum('dy')], {}, 'd_b2');
  const dActivated = g.op('Gemm', ['dy', 'w2'], { transB: 1 });
  // gelu'(a) = 0.5 (1 + t) + 0.5 a (1 - t^2) c (1 + 3 * 0.044715 a^2)
  const derivative = g.op('Add', [
    g.op('Mul', [s(0.5), g.op('Add', [s(1), t])]),
    g.op('Mul', [
      g.op('Mul', [g.op('Mul', [a, s(0.5 * c)]), g.op('Sub', [s(1), g.op('Mul', [t, t])])]),
      g.op('Add', [s(1), g.op('Mul', [aSquared, s(3 * 0.044715)])]),
    ]),
  ]);
  const dA = g.op('Mul', [dActivated, derivative]);
  g.op('Gemm', [h, dA], { transA: 1 }, 'd_w1');
  g.op('Identity', [rowSum(dA)], {}, 'd_b1');
  const dH = g.op('Gemm', [dA, 'w1'], { transB: 1 });
  g.op('Identity', [rowSum(g.op('Mul', [dH, xhat]))], {}, 'd_gain');
  g.op('Identity', [rowSum(dH)], {}, 'd_bias');
  const dXhat = g.op('Mul', [dH, 'gain']);
  const dNormalized = g.op('Mul', [
    g.op('Sub', [
      g.op('Sub', [dXhat, g.op('ReduceMean', [dXhat], { axes: [-1], keepdims: 1 })]),
      g.op('Mul', [
        xhat,
        g.op('ReduceMean', [g.op('Mul', [dXhat, xhat])], { axes: [-1], keepdims: 1 }),
      ]),
    ]),
    inverse,
  ]);
  g.op('Add', ['dy', dNormalized], {}, 'd_x');
  const float = onnx.TensorProto.DataType.FLOAT;
  const shapes: Record<string, number[]> = {
    x: [rows, width],
    dy: [rows, width],
    gain: [width],
    bias: [width],
    w1: [width, inner],
    b1: [inner],
    w2: [inner, width],
    b2: [width],
  };
  return g.toModel({
    name: 'gpt2_mlp_block_forward_backward',
    inputs: [...names, 'dy'].map((name) => ({
      name,
      elementType: float,
      dimensions: shapes[name] as number[],
    })),
    outputs: ['y', ...gradientNames].map((name) => ({
      name,
      elementType: float,
      dimensions: shapes[name.replace(/^d_/, '')] ?? [rows, width],
    })),
    opsetVersion: 14,
    producerName: 'cohort bench',
  });
}

function randomInputs(rows: number, width: number, seed: number): Record<string, Float32Array> {
  let state = seed;
  const next = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648 - 0.5;
  };
  const make = (size: number, scale: number, offset = 0) =>
    Float32Array.from({ length: size }, () => offset + scale * next());
  const inner = 4 * width;
  return {
    x: make(rows * width, 2),
    gain: make(width, 0.6, 1),
    bias: make(width, 0.4),
    w1: make(width * inner, 0.3),
    b1: make(inner, 0.4),
    w2: make(inner * width, 0.3),
    b2: make(width, 0.4),
    dy: make(rows * width, 2),
  };
}

/** Independent float64 forward, `sum(y * dy)`. */
function objective64(values: Record<string, Float64Array>, rows: number, width: number): number {
  const inner = 4 * width;
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const x = Array.from({ length: width }, (_, i) => values.x?.[r * width + i] as number);
    const mu = x.reduce((sum, v) => sum + v, 0) / width;
    const variance = x.reduce((sum, v) => sum + (v - mu) ** 2, 0) / width;
    const h = x.map(
      (v, i) =>
        ((v - mu) / Math.sqrt(variance + epsilon)) * (values.gain?.[i] as number) +
        (values.bias?.[i] as number),
    );
    const activated = Array.from({ length: inner }, (_, j) => {
      let a = values.b1?.[j] as number;
      for (let i = 0; i < width; i++)
        a += (h[i] as number) * (values.w1?.[i * inner + j] as number);
      return 0.5 * a * (1 + Math.tanh(c * (a + 0.044715 * a ** 3)));
    });
    for (let k = 0; k < width; k++) {
      let y = (x[k] as number) + (values.b2?.[k] as number);
      for (let j = 0; j < inner; j++)
        y += (activated[j] as number) * (values.w2?.[j * width + k] as number);
      total += y * (values.dy?.[r * width + k] as number);
    }
  }
  return total;
}

function feedsOf(values: Record<string, Float32Array>, rows: number, width: number) {
  const inner = 4 * width;
  const shapes: Record<string, number[]> = {
    x: [rows, width],
    dy: [rows, width],
    gain: [width],
    bias: [width],
    w1: [width, inner],
    b1: [inner],
    w2: [inner, width],
    b2: [width],
  };
  return Object.fromEntries(
    Object.entries(values).map(([name, data]) => [
      name,
      new ort.Tensor('float32', data, shapes[name] as number[]),
    ]),
  );
}

async function session(rows: number, width: number) {
  return ort.InferenceSession.create(buildGraph(rows, width), {
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
  });
}

await initializeBackend({ backend: 'wasm', logger: false });

// Check 1: ONNX gradients against float64 central differences on a tiny shape.
{
  const rows = 3;
  const width = 4;
  const values = randomInputs(rows, width, 5);
  const outputs = await (await session(rows, width)).run(feedsOf(values, rows, width));
  const values64 = Object.fromEntries(
    Object.entries(values).map(([name, data]) => [name, Float64Array.from(data)]),
  );
  let worst = 0;
  for (const name of names) {
    const gradient = outputs[`d_${name}`]?.data as Float32Array;
    const data = values64[name] as Float64Array;
    for (let index = 0; index < data.length; index++) {
      const saved = data[index] as number;
      data[index] = saved + 1e-6;
      const up = objective64(values64, rows, width);
      data[index] = saved - 1e-6;
      const down = objective64(values64, rows, width);
      data[index] = saved;
      const numeric = (up - down) / 2e-6;
      worst = Math.max(
        worst,
        Math.abs((gradient[index] as number) - numeric) / (1 + Math.abs(numeric)),
      );
    }
  }
  console.log(
    `ONNX gradient vs float64 finite differences: worst relative error ${worst.toExponential(2)}`,
  );
  if (worst > 1e-4) throw new Error(`ONNX gradient disagrees with finite differences: ${worst}`);
}

const tfjsStep = (values: Record<string, Float32Array>, rows: number, width: number) => {
  const inner = 4 * width;
  const shapes: Record<string, number[]> = {
    x: [rows, width],
    gain: [width],
    bias: [width],
    w1: [width, inner],
    b1: [inner],
    w2: [inner, width],
    b2: [width],
  };
  const inputs = names.map((name) => tf.tensor(values[name] as Float32Array, shapes[name]));
  const dy = tf.tensor2d(values.dy as Float32Array, [rows, width]);
  return () =>
    tf.tidy(() =>
      tf.grads((x, gain, bias, w1, b1, w2, b2) =>
        x.add(
          linear(
            gelu(
              linear(
                layerNorm(x, gain as tf.Tensor1D, bias as tf.Tensor1D, epsilon),
                w1 as tf.Tensor2D,
                b1 as tf.Tensor1D,
              ),
            ),
            w2 as tf.Tensor2D,
            b2 as tf.Tensor1D,
          ),
        ),
      )(inputs, dy),
    );
};

const results: Record<string, unknown> = {};
for (const [name, width] of [
  ['shipped (E 128)', 128],
  ['11M (E 384)', 384],
] as const) {
  const rows = 8 * 160;
  const values = randomInputs(rows, width, 11);
  const onnxSession = await session(rows, width);
  const feeds = feedsOf(values, rows, width);
  const tfjs = tfjsStep(values, rows, width);
  // Check 2: ONNX gradients against tfjs's at the bench shape.
  const onnxOutputs = await onnxSession.run(feeds);
  const tfjsGradients = tfjs();
  let worst = 0;
  names.forEach((input, index) => {
    const expected = tfjsGradients[index]?.dataSync() as Float32Array;
    const actual = onnxOutputs[`d_${input}`]?.data as Float32Array;
    const scale = expected.reduce((max, v) => Math.max(max, Math.abs(v)), 0);
    for (let at = 0; at < expected.length; at++) {
      worst = Math.max(worst, Math.abs((actual[at] as number) - (expected[at] as number)) / scale);
    }
  });
  tf.dispose(tfjsGradients);
  console.log(
    `${name}: ONNX vs tfjs gradients, worst error relative to each tensor's max: ${worst.toExponential(2)}`,
  );
  if (worst > 1e-3) throw new Error(`ONNX and tfjs gradients disagree: ${worst}`);
  const seconds: { tfjs: number[]; onnxruntime: number[] } = { tfjs: [], onnxruntime: [] };
  for (let round = 0; round < rounds; round++) {
    let start = performance.now();
    for (let repeat = 0; repeat < 3; repeat++) {
      const gradients = tfjs();
      for (const gradient of gradients) gradient.dataSync();
      tf.dispose(gradients);
    }
    seconds.tfjs.push((performance.now() - start) / 3000);
    start = performance.now();
    for (let repeat = 0; repeat < 3; repeat++) await onnxSession.run(feeds);
    seconds.onnxruntime.push((performance.now() - start) / 3000);
  }
  const ratios = seconds.tfjs.map((value, index) => value / (seconds.onnxruntime[index] as number));
  const median = [...ratios].sort((a, b) => a - b)[Math.floor(ratios.length / 2)] as number;
  results[name] = {
    rows,
    width,
    seconds,
    onnxOverTfjsSpeedPerRound: ratios,
    median,
    gradientError: worst,
  };
  console.log(name, JSON.stringify(results[name]));
  await onnxSession.release();
}
writeFileSync(
  fileURLToPath(new URL('./results/onnx-block-backward.json', import.meta.url)),
  `${JSON.stringify({ benchmark: 'onnx-block-backward', date: new Date().toISOString(), loadAverage: loadavg(), onnxruntimeThreads: threads, rounds, shapes: results }, null, 2)}\n`,
);
