/**
 * The exploration of issue 14, second half of a GPT-2 block: forward+backward
 * of the attention sub-block with its residual,
 * `y = x + Wp^T attention(W_qkv^T ln(x) + b_qkv) + bp` (causal mask as an
 * additive bias), built explicitly as an ONNX graph and run by
 * onnxruntime-node, against tfjs (the learner's fast ops, `fusedSelfAttention`
 * and autodiff) on the same shapes, alternating. The gradients are checked
 * against float64 finite differences (tiny shape) and tfjs (bench shapes)
 * before timing; the run fails if they disagree. bench/onnx-block-backward.ts
 * measures the MLP half.
 *
 * Run: pnpm exec tsx --conditions=@cohort/source bench/onnx-attention-backward.ts [--rounds 3] [--threads 1]
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as tf from '../packages/tfjs/node_modules/@tensorflow/tfjs/dist/tf.node.js';
import * as ort from '../packages/tfjs/node_modules/onnxruntime-node/dist/index.js';
import {
  causalAttentionBias,
  fusedSelfAttention,
  initializeBackend,
  layerNorm,
  linear,
} from '../packages/tfjs/src/index';
import { OnnxGraphBuilder, onnx } from '../packages/tfjs/src/onnx/onnx-graph-builder';

function argument(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}
const rounds = argument('--rounds', 3);
const threads = argument('--threads', 1);
const epsilon = 1e-5;
const names = ['x', 'gain', 'bias', 'wqkv', 'bqkv', 'wp', 'bp'] as const;

interface Shape {
  batchSize: number;
  length: number;
  width: number;
  headCount: number;
}

function shapesOf({ batchSize, length, width }: Shape): Record<string, number[]> {
  return {
    x: [batchSize, length, width],
    dy: [batchSize, length, width],
    mask: [batchSize, 1, length, length],
    gain: [width],
    bias: [width],
    wqkv: [width, 3 * width],
    bqkv: [3 * width],
    wp: [width, width],
    bp: [width],
  };
}

function buildGraph(shape: Shape): Uint8Array {
  const { width, headCount } = shape;
  const headSize = width / headCount;
  const scale = 1 / Math.sqrt(headSize);
  const g = new OnnxGraphBuilder();
  const s = (value: number) => g.floatScalar(value);
  const flat = (value: string, columns: number) =>
    g.op('Reshape', [value, g.int64Constant([-1, columns])]);
  const rowSum = (value: string) =>
    g.op('ReduceSum', [value, g.int64Constant([0])], { keepdims: 0 });
  const lastMean = (value: string) => g.op('ReduceMean', [value], { axes: [-1], keepdims: 1 });
  const heads = (value: string) =>
    g.op('Transpose', [g.op('Reshape', [value, g.int64Constant([0, 0, headCount, headSize])])], {
      perm: [0, 2, 1, 3],
    });
  const merge = (value: string) =>
    g.op('Reshape', [
      g.op('Transpose', [value], { perm: [0, 2, 1, 3] }),
      g.int64Constant([0, 0, width]),
    ]);
  const swapLast = (value: string) => g.op('Transpose', [value], { perm: [0, 1, 3, 2] });
  const centered = g.op('Sub', ['x', lastMean('x')]);
  const inverse = g.op('Reciprocal', [
    g.op('Sqrt', [g.op('Add', [lastMean(g.op('Mul', [centered, centered])), s(epsilon)])]),
  ]);
  const xhat = g.op('Mul', [centered, inverse]);
  const h = g.op('Add', [g.op('Mul', [xhat, 'gain']), 'bias']);
  const qkv = g.op('Add', [g.op('MatMul', [h, 'wqkv']), 'bqkv']);
  const [q, k, v] = g
    .node('Split', [qkv, g.int64Constant([width, width, width])], { axis: -1 }, 3)
    .map(heads) as [string, string, string];
  const scores = g.op('Add', [g.op('Mul', [g.op('MatMul', [q, swapLast(k)]), s(scale)]), 'mask']);
  const p = g.op('Softmax', [scores], { axis: -1 });
  const merged = merge(g.op('MatMul', [p, v]));
  g.op('Add', ['x', g.op('Add', [g.op('MatMul', [merged, 'wp']), 'bp'])], {}, 'y');
  // Backward.
  const dy2 = flat('dy', width);
  g.op('Gemm', [flat(merged, width), dy2], { transA: 1 }, 'd_wp');
  g.op('Identity', [rowSum(dy2)], {}, 'd_bp');
  const dO = heads(
    g.op('Reshape', [g.op('Gemm', [dy2, 'wp'], { transB: 1 }), g.op('Shape', ['x'])]),
  );
  const dV = g.op('MatMul', [swapLast(p), dO]);
  const dP = g.op('MatMul', [dO, swapLast(v)]);
  const dS = g.op('Mul', [
    g.op('Mul', [
      p,
      g.op('Sub', [
        dP,
        g.op('ReduceSum', [g.op('Mul', [dP, p]), g.int64Constant([-1])], { keepdims: 1 }),
      ]),
    ]),
    s(scale),
  ]);
  const dQ = g.op('MatMul', [dS, k]);
  const dK = g.op('MatMul', [swapLast(dS), q]);
  const dQkv = flat(g.op('Concat', [merge(dQ), merge(dK), merge(dV)], { axis: -1 }), 3 * width);
  g.op('Gemm', [flat(h, width), dQkv], { transA: 1 }, 'd_wqkv');
  g.op('Identity', [rowSum(dQkv)], {}, 'd_bqkv');
  const dH = g.op('Reshape', [g.op('Gemm', [dQkv, 'wqkv'], { transB: 1 }), g.op('Shape', ['x'])]);
  g.op('Identity', [rowSum(flat(g.op('Mul', [dH, xhat]), width))], {}, 'd_gain');
  g.op('Identity', [rowSum(flat(dH, width))], {}, 'd_bias');
  const dXhat = g.op('Mul', [dH, 'gain']);
  const dNormalized = g.op('Mul', [
    g.op('Sub', [
      g.op('Sub', [dXhat, lastMean(dXhat)]),
      g.op('Mul', [xhat, lastMean(g.op('Mul', [dXhat, xhat]))]),
    ]),
    inverse,
  ]);
  g.op('Add', ['dy', dNormalized], {}, 'd_x');
  const float = onnx.TensorProto.DataType.FLOAT;
  const shapes = shapesOf(shape);
  return g.toModel({
    name: 'gpt2_attention_block_forward_backward',
    inputs: [...names, 'dy', 'mask'].map((name) => ({
      name,
      elementType: float,
      dimensions: shapes[name] as number[],
    })),
    outputs: ['y', ...names.map((name) => `d_${name}`)].map((name) => ({
      name,
      elementType: float,
      dimensions: shapes[name.replace(/^d_/, '')] ?? (shapes.x as number[]),
    })),
    opsetVersion: 14,
    producerName: 'cohort bench',
  });
}

function randomInputs(shape: Shape, seed: number): Record<string, Float32Array> {
  let state = seed;
  const next = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648 - 0.5;
  };
  const shapes = shapesOf(shape);
  const size = (name: string) => (shapes[name] as number[]).reduce((a, b) => a * b, 1);
  const make = (name: string, scale: number, offset = 0) =>
    Float32Array.from({ length: size(name) }, () => offset + scale * next());
  return {
    x: make('x', 2),
    gain: make('gain', 0.6, 1),
    bias: make('bias', 0.4),
    wqkv: make('wqkv', 0.6),
    bqkv: make('bqkv', 0.4),
    wp: make('wp', 0.4),
    bp: make('bp', 0.4),
    dy: make('dy', 2),
    mask: causalAttentionBias({
      batchSize: shape.batchSize,
      queryLength: shape.length,
      pastLength: 0,
    }).dataSync() as Float32Array,
  };
}

/** Independent float64 forward of the attention sub-block, `sum(y * dy)`. */
function objective64(values: Record<string, Float64Array>, shape: Shape): number {
  const { batchSize, length, width, headCount } = shape;
  const headSize = width / headCount;
  const at = (name: string, index: number) => values[name]?.[index] as number;
  let total = 0;
  for (let b = 0; b < batchSize; b++) {
    const qkv: number[][] = [];
    for (let t = 0; t < length; t++) {
      const x = Array.from({ length: width }, (_, i) => at('x', (b * length + t) * width + i));
      const mu = x.reduce((sum, value) => sum + value, 0) / width;
      const variance = x.reduce((sum, value) => sum + (value - mu) ** 2, 0) / width;
      const h = x.map(
        (value, i) =>
          ((value - mu) / Math.sqrt(variance + epsilon)) * at('gain', i) + at('bias', i),
      );
      qkv.push(
        Array.from({ length: 3 * width }, (_, j) => {
          let sum = at('bqkv', j);
          for (let i = 0; i < width; i++) sum += (h[i] as number) * at('wqkv', i * 3 * width + j);
          return sum;
        }),
      );
    }
    for (let t = 0; t < length; t++) {
      const merged = new Array<number>(width).fill(0);
      for (let head = 0; head < headCount; head++) {
        const scores = Array.from({ length: length }, (_, j) => {
          if (j > t) return Number.NEGATIVE_INFINITY;
          let dot = 0;
          for (let c = 0; c < headSize; c++)
            dot +=
              (qkv[t]?.[head * headSize + c] as number) *
              (qkv[j]?.[width + head * headSize + c] as number);
          return dot / Math.sqrt(headSize);
        });
        const top = Math.max(...scores);
        const exps = scores.map((score) => Math.exp(score - top));
        const sum = exps.reduce((total2, value) => total2 + value, 0);
        for (let c = 0; c < headSize; c++) {
          let out = 0;
          for (let j = 0; j < length; j++)
            out +=
              ((exps[j] as number) / sum) * (qkv[j]?.[2 * width + head * headSize + c] as number);
          merged[head * headSize + c] = out;
        }
      }
      for (let k = 0; k < width; k++) {
        let y = at('x', (b * length + t) * width + k) + at('bp', k);
        for (let i = 0; i < width; i++) y += (merged[i] as number) * at('wp', i * width + k);
        total += y * at('dy', (b * length + t) * width + k);
      }
    }
  }
  return total;
}

const feedsOf = (values: Record<string, Float32Array>, shape: Shape) => {
  const shapes = shapesOf(shape);
  return Object.fromEntries(
    Object.entries(values).map(([name, data]) => [
      name,
      new ort.Tensor('float32', data, shapes[name] as number[]),
    ]),
  );
};

const session = (shape: Shape) =>
  ort.InferenceSession.create(buildGraph(shape), {
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
  });

await initializeBackend({ backend: 'wasm', logger: false });

{
  const tiny: Shape = { batchSize: 2, length: 3, width: 4, headCount: 2 };
  const values = randomInputs(tiny, 5);
  const outputs = await (await session(tiny)).run(feedsOf(values, tiny));
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
      const up = objective64(values64, tiny);
      data[index] = saved - 1e-6;
      const down = objective64(values64, tiny);
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

function tfjsStep(values: Record<string, Float32Array>, shape: Shape) {
  const shapes = shapesOf(shape);
  const inputs = names.map((name) => tf.tensor(values[name] as Float32Array, shapes[name]));
  const dy = tf.tensor(values.dy as Float32Array, shapes.dy);
  const mask = tf.tensor4d(
    values.mask as Float32Array,
    shapes.mask as [number, number, number, number],
  );
  return () =>
    tf.tidy(() =>
      tf.grads((x, gain, bias, wqkv, bqkv, wp, bp) => {
        const qkv = linear(
          layerNorm(x, gain as tf.Tensor1D, bias as tf.Tensor1D, epsilon),
          wqkv as tf.Tensor2D,
          bqkv as tf.Tensor1D,
        ) as tf.Tensor3D;
        const { output } = fusedSelfAttention(qkv, mask, shape.headCount);
        return x.add(linear(output, wp as tf.Tensor2D, bp as tf.Tensor1D));
      })(inputs, dy),
    );
}

const results: Record<string, unknown> = {};
for (const [name, shape] of [
  ['shipped (E 128, 4 heads)', { batchSize: 8, length: 160, width: 128, headCount: 4 }],
  ['11M (E 384, 6 heads)', { batchSize: 8, length: 160, width: 384, headCount: 6 }],
] as const) {
  const values = randomInputs(shape, 11);
  const onnxSession = await session(shape);
  const feeds = feedsOf(values, shape);
  const tfjs = tfjsStep(values, shape);
  const onnxOutputs = await onnxSession.run(feeds);
  const tfjsGradients = tfjs();
  let worst = 0;
  names.forEach((input, index) => {
    const expected = tfjsGradients[index]?.dataSync() as Float32Array;
    const actual = onnxOutputs[`d_${input}`]?.data as Float32Array;
    const scale = expected.reduce((max, value) => Math.max(max, Math.abs(value)), 0);
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
    for (let repeat = 0; repeat < 2; repeat++) {
      const gradients = tfjs();
      for (const gradient of gradients) gradient.dataSync();
      tf.dispose(gradients);
    }
    seconds.tfjs.push((performance.now() - start) / 2000);
    start = performance.now();
    for (let repeat = 0; repeat < 2; repeat++) await onnxSession.run(feeds);
    seconds.onnxruntime.push((performance.now() - start) / 2000);
  }
  const ratios = seconds.tfjs.map((value, index) => value / (seconds.onnxruntime[index] as number));
  const median = [...ratios].sort((a, b) => a - b)[Math.floor(ratios.length / 2)] as number;
  results[name] = {
    ...shape,
    seconds,
    onnxOverTfjsSpeedPerRound: ratios,
    median,
    gradientError: worst,
  };
  console.log(name, JSON.stringify(results[name]));
  await onnxSession.release();
}
writeFileSync(
  fileURLToPath(new URL('./results/onnx-attention-backward.json', import.meta.url)),
  `${JSON.stringify({ benchmark: 'onnx-attention-backward', date: new Date().toISOString(), loadAverage: loadavg(), onnxruntimeThreads: threads, rounds, shapes: results }, null, 2)}\n`,
);
