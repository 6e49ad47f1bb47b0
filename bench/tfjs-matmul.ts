/**
 * Matmul throughput per available tfjs backend against the machine's peak, and
 * the WASM gap between a plain 2D product and the transposed and batched ones
 * that tfjs's own matMul gradient uses. Run: pnpm exec tsx --conditions=@cohort/source bench/tfjs-matmul.ts
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import * as tf from '../packages/tfjs/node_modules/@tensorflow/tfjs/dist/tf.node.js';
import { initializeBackend } from '../packages/tfjs/src/index';

/** 2 cores x ~2.45 GHz x 32 float32 FLOP/cycle (AVX2, two FMA ports), the figure given for this machine. */
const machinePeakGflops = 157;

function measure(flops: number, run: () => tf.Tensor, seconds = 1): number {
  for (let warm = 0; warm < 2; warm++) {
    const result = run();
    result.dataSync();
    result.dispose();
  }
  const start = performance.now();
  let count = 0;
  while (performance.now() - start < seconds * 1000) {
    const result = run();
    result.dataSync();
    result.dispose();
    count++;
  }
  const elapsed = (performance.now() - start) / 1000;
  return (flops * count) / elapsed / 1e9;
}

const results: Record<string, Record<string, number>> = {};
for (const backend of ['node', 'wasm', 'cpu'] as const) {
  try {
    await initializeBackend({ backend, logger: false });
  } catch {
    continue;
  }
  const name = tf.getBackend();
  const row: Record<string, number> = {};
  for (const [m, k, n] of [
    [512, 512, 512],
    [1024, 128, 512],
  ] as const) {
    const a = tf.randomNormal([m, k]);
    const b = tf.randomNormal([k, n]);
    const aT = tf.randomNormal([k, m]);
    const bT = tf.randomNormal([n, k]);
    const flops = 2 * m * k * n;
    const time = name === 'cpu' ? 0.5 : 1;
    row[`plain ${m}x${k}x${n}`] = measure(flops, () => tf.matMul(a, b), time);
    row[`transposeA ${m}x${k}x${n}`] = measure(flops, () => tf.matMul(aT, b, true, false), time);
    row[`transposeB ${m}x${k}x${n}`] = measure(flops, () => tf.matMul(a, bT, false, true), time);
    row[`explicit transpose + plain ${m}x${k}x${n}`] = measure(
      flops,
      () => tf.tidy(() => tf.matMul(tf.transpose(aT), b)),
      time,
    );
    tf.dispose([a, b, aT, bT]);
  }
  const q = tf.randomNormal([64, 64, 32]);
  const kT = tf.randomNormal([64, 32, 64]);
  row['batched 64 x (64x32x64)'] = measure(
    2 * 64 * 64 * 32 * 64,
    () => tf.matMul(q, kT),
    name === 'cpu' ? 0.5 : 1,
  );
  tf.dispose([q, kT]);
  results[name] = row;
  console.log(name, row);
}

const wasm = results.wasm ?? {};
const summary = {
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, peakGflops: machinePeakGflops },
  gflopsPerBackend: results,
  wasmPlainOverTransposeA:
    (wasm['plain 1024x128x512'] ?? 0) / (wasm['transposeA 1024x128x512'] ?? 1),
  wasmPlainFractionOfPeak: (wasm['plain 512x512x512'] ?? 0) / machinePeakGflops,
};
console.log(JSON.stringify(summary, null, 2));
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/tfjs-matmul.json', `${JSON.stringify(summary, null, 2)}\n`);
