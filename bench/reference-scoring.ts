/**
 * Reference scoring of one default GRPO step's batch (8 sequences of 120-250
 * tokens on the embedded 0.56M GPT) on tfjs (`GptReferenceModel`, WASM)
 * against ONNX Runtime (`OnnxReferenceModel`), alternating in one run:
 * median seconds per batch, their ratio, and the largest per-token gap.
 *
 * Results: bench/results/reference-scoring.json.
 *
 * Run: pnpm exec tsx --conditions=@cohort/source bench/reference-scoring.ts [--rounds 10]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Random } from '@cohort/core';
import { initializeBackend } from '@cohort/tfjs';
import { loadGptPolicy } from '@cohort/tfjs/node';
import { createOnnxReferenceModel } from '@cohort/transformers';

const index = process.argv.indexOf('--rounds');
const rounds = index >= 0 ? Number(process.argv[index + 1]) : 10;
const root = fileURLToPath(new URL('..', import.meta.url));
await initializeBackend({ backend: 'wasm', logger: false });
const { referenceModel: tfjsReference, policy } = await loadGptPolicy(
  `${root}apps/agent-trainer/models/support-agent-tiny`,
);
const exportStarted = performance.now();
const onnxReference = await createOnnxReferenceModel({
  model: tfjsReference.model,
  padTokenId: policy.tokenizer.padTokenId,
});
const exportSeconds = (performance.now() - exportStarted) / 1000;
const random = new Random(3);
const sequences = Array.from({ length: 8 }, () =>
  Array.from({ length: 120 + Math.floor(random.uniform(0, 131)) }, () =>
    Math.floor(random.uniform(4, 1000)),
  ),
);
const tokens = sequences.reduce((sum, sequence) => sum + sequence.length, 0);
const seconds = { tfjs: [] as number[], onnx: [] as number[] };
let largestGap = 0;
const loads: number[] = [];
for (let round = 0; round <= rounds; round++) {
  const timed = async (scorer: typeof tfjsReference | typeof onnxReference) => {
    const started = performance.now();
    const values = await scorer.referenceLogProbs({ sequences, temperature: 1 });
    return { values, seconds: (performance.now() - started) / 1000 };
  };
  const tfjs = await timed(tfjsReference);
  const onnx = await timed(onnxReference);
  tfjs.values.forEach((row, i) => {
    row.forEach((value, t) => {
      largestGap = Math.max(largestGap, Math.abs(value - onnx.values[i]![t]!));
    });
  });
  // Round 0 warms both up.
  if (round > 0) {
    seconds.tfjs.push(tfjs.seconds);
    seconds.onnx.push(onnx.seconds);
    loads.push(loadavg()[0]!);
  }
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
const result = {
  sequences: sequences.length,
  tokens,
  rounds,
  exportSeconds,
  medianSeconds: { tfjs: median(seconds.tfjs), onnx: median(seconds.onnx) },
  speedup: median(seconds.tfjs) / median(seconds.onnx),
  largestGap,
  meanLoadAverage: loads.reduce((a, b) => a + b, 0) / loads.length,
  seconds,
};
console.log(
  `reference scoring of ${tokens} tokens: tfjs ${result.medianSeconds.tfjs.toFixed(3)} s, onnx ${result.medianSeconds.onnx.toFixed(3)} s (${result.speedup.toFixed(2)}x), export ${exportSeconds.toFixed(3)} s, largest gap ${largestGap.toExponential(1)}, load ${result.meanLoadAverage.toFixed(1)}`,
);
mkdirSync(`${root}bench/results`, { recursive: true });
writeFileSync(
  `${root}bench/results/reference-scoring.json`,
  `${JSON.stringify(result, null, 2)}\n`,
);
await onnxReference.dispose();
