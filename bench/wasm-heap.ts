/**
 * What holds tfjs WASM memory in the default GRPO step, per engine setup: one
 * child process per setup runs `--steps` default steps, each inside
 * `tf.profile`, and reports the step's peak of live tfjs tensor bytes, the
 * WASM heap's size after it (it grows to the largest peak and never
 * shrinks), the process's peak RSS and the step's seconds (noisy on a
 * shared machine). The `learnerShards` setups split the learner's minibatch
 * into in-thread shards (the same update) to cut the activation peak.
 *
 * Results: bench/results/wasm-heap.json.
 *
 * Run: pnpm exec tsx --conditions=@cohort/source bench/wasm-heap.ts [--steps 3]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const index = process.argv.indexOf('--steps');
const steps = index >= 0 ? Number(process.argv[index + 1]) : 3;

if (process.argv[2] === '--child') {
  const tf = await import('@tensorflow/tfjs');
  const { resolveAppConfig } = await import('../apps/agent-trainer/src/app-config.ts');
  const { createTrainer } = await import('../apps/agent-trainer/src/training-setup.ts');
  const trainer = await createTrainer({ config: resolveAppConfig(JSON.parse(process.argv[3]!)) });
  const heap = () =>
    (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.byteLength / 2 ** 20;
  const heapAtStart = heap();
  // What the process holds before the first step: Node, the sources, the policy, ONNX Runtime sessions.
  const rssBeforeStepsMegabytes = process.memoryUsage().rss / 2 ** 20;
  const rows = [];
  for (let step = 0; step < Number(process.argv[4]); step++) {
    const started = performance.now();
    const profile = await tf.profile(async () => {
      await trainer.step();
    });
    const seconds = (performance.now() - started) / 1000;
    rows.push({
      peakTensorMegabytes: profile.peakBytes / 2 ** 20,
      kernels: profile.kernels.length,
      heapMegabytes: heap(),
      maxRssMegabytes: process.resourceUsage().maxRSS / 1024,
      seconds,
    });
  }
  process.stdout.write(`${JSON.stringify({ heapAtStart, rssBeforeStepsMegabytes, rows })}\n`);
  process.exit(0);
}

const setups: [string, unknown][] = [
  [
    'all tfjs (round 2)',
    { engine: { sampler: 'tfjs', reference: 'tfjs' }, trainer: { behaviorLogProbs: 'sampler' } },
  ],
  ['onnx sampler, tfjs reference (round 3)', { engine: { sampler: 'onnx', reference: 'tfjs' } }],
  ['onnx sampler + reference (default)', {}],
  ['default + learnerShards 2', { engine: { learnerShards: 2 } }],
  ['default + learnerShards 4', { engine: { learnerShards: 4 } }],
  ['default + learnerShards 8', { engine: { learnerShards: 8 } }],
];
const results = setups.map(([label, config]) => {
  const output = execFileSync(
    process.execPath,
    [
      '--conditions=@cohort/source',
      '--import',
      'tsx',
      'bench/wasm-heap.ts',
      '--child',
      JSON.stringify(config),
      String(steps),
    ],
    { cwd: root, maxBuffer: 1 << 26 },
  )
    .toString()
    .trim()
    .split('\n')
    .at(-1)!;
  const measured = JSON.parse(output) as {
    heapAtStart: number;
    rssBeforeStepsMegabytes: number;
    rows: {
      peakTensorMegabytes: number;
      kernels: number;
      heapMegabytes: number;
      maxRssMegabytes: number;
      seconds: number;
    }[];
  };
  const last = measured.rows.at(-1)!;
  console.log(
    `${label.padEnd(40)} peak tensors ${Math.max(...measured.rows.map((row) => row.peakTensorMegabytes)).toFixed(0)} MB, WASM heap ${measured.heapAtStart.toFixed(0)} -> ${last.heapMegabytes.toFixed(0)} MB, RSS before steps ${measured.rssBeforeStepsMegabytes.toFixed(0)} MB, peak RSS ${last.maxRssMegabytes.toFixed(0)} MB, kernels/step ${measured.rows.map((row) => row.kernels).join(' ')}, s/step ${measured.rows.map((row) => row.seconds.toFixed(1)).join(' ')}`,
  );
  return { label, config, ...measured, loadAverage: loadavg()[0] };
});
mkdirSync(`${root}bench/results`, { recursive: true });
writeFileSync(
  `${root}bench/results/wasm-heap.json`,
  `${JSON.stringify({ steps, results }, null, 2)}\n`,
);
