/**
 * Where the ONNX learner's memory goes on the default run's model (the
 * embedded 0.56M GPT-2): each variant of ONNX Runtime session options runs in
 * its own process, which loads the model, opens the learner and runs what one
 * GRPO minibatch does (forward log-probs, then forward and backward) on
 * batches of 8 sequences of 120-220 tokens (the default run's shapes, with a
 * new padded length every call); it reports the RSS before the learner, after
 * opening it, and the peak, and the median seconds per minibatch. Variants
 * alternate, round after round. Variants also split each call into runs of
 * fewer sequences (`sequencesPerRun`).
 *
 * Results: bench/results/onnx-learner-memory.json.
 *
 * Run: nice -n 15 pnpm exec tsx --conditions=@cohort/source bench/onnx-learner-memory.ts [--rounds 2] [--calls 12]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Session options, and `sequencesPerRun` (the learner's runs per call). */
const variants: Record<string, Record<string, unknown>> = {
  default: {},
  'no memory pattern': { enableMemPattern: false },
  'no cpu arena': { enableCpuMemArena: false },
  'no arena, no pattern': { enableCpuMemArena: false, enableMemPattern: false },
  '4 sequences per run': { sequencesPerRun: 4 },
  '2 sequences per run': { sequencesPerRun: 2 },
  '1 sequence per run': { sequencesPerRun: 1 },
};

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(name);
  return index >= 0 ? (process.argv[index + 1] ?? fallback) : fallback;
}

interface ChildReport {
  rssBeforeMegabytes: number;
  rssOpenedMegabytes: number;
  peakRssMegabytes: number;
  medianSeconds: number;
}

async function child(variant: string, calls: number): Promise<void> {
  const { initializeBackend, Random } = {
    ...(await import('../packages/tfjs/src/index')),
    ...(await import('../packages/core/src/index')),
  };
  const { loadGptPolicy } = await import('../packages/tfjs/src/node');
  const { OnnxLearner, gptLearnerFamily } = await import('../packages/transformers/src/index');
  // The bench has no onnxruntime-node of its own: the learner's copy, so sessions and tensors are one module's.
  const ort = createRequire(path.join(root, 'packages/transformers/package.json'))(
    'onnxruntime-node',
  ) as typeof import('onnxruntime-node');
  await initializeBackend({ backend: 'wasm', logger: false });
  const { policy } = await loadGptPolicy(
    path.join(root, 'apps/agent-trainer/models/support-agent-tiny'),
  );
  const model = policy.model;
  const megabytes = (bytes: number) => bytes / 1024 / 1024;
  const rssBefore = megabytes(process.memoryUsage().rss);
  const family = gptLearnerFamily(model.config);
  const { sequencesPerRun, ...sessionVariant } = variants[variant] ?? {};
  const sessionOptions = {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    ...sessionVariant,
  } as const;
  const learner = new OnnxLearner({
    family,
    padTokenId: model.config.eosTokenId,
    sessionOptions,
    learningSession: await ort.InferenceSession.create(family.graph(true), sessionOptions),
    ...(typeof sequencesPerRun === 'number' ? { sequencesPerRun } : {}),
  });
  const rssOpened = megabytes(process.memoryUsage().rss);
  const random = new Random(7);
  const seconds: number[] = [];
  for (let call = 0; call < calls; call++) {
    const sequences = Array.from({ length: 8 }, () =>
      Array.from({ length: random.int(120, 220) }, () => random.int(1, model.config.vocabSize - 1)),
    );
    const started = performance.now();
    const weights = model.namedVariables();
    const forward = await learner.logProbs(weights, { sequences, temperature: 0.9 });
    const dLogp = forward.logProbs.map(() => random.uniform(-1e-3, 1e-3));
    const { gradients } = await learner.gradients(weights, { sequences, temperature: 0.9 }, dLogp);
    for (const gradient of Object.values(gradients)) gradient.dispose();
    seconds.push((performance.now() - started) / 1000);
  }
  seconds.sort((a, b) => a - b);
  const report: ChildReport = {
    rssBeforeMegabytes: rssBefore,
    rssOpenedMegabytes: rssOpened,
    peakRssMegabytes: process.resourceUsage().maxRSS / 1024,
    medianSeconds: seconds[Math.floor(seconds.length / 2)] as number,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

if (process.argv[2] === '--child') {
  await child(process.argv[3] as string, Number(process.argv[4]));
} else {
  const rounds = Number(argument('--rounds', '2'));
  const calls = Number(argument('--calls', '12'));
  const runs: Record<string, ChildReport[]> = Object.fromEntries(
    Object.keys(variants).map((name) => [name, []]),
  );
  const loads: number[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const variant of Object.keys(variants)) {
      const output = execFileSync(
        process.execPath,
        [
          '--conditions=@cohort/source',
          '--import',
          'tsx',
          'bench/onnx-learner-memory.ts',
          '--child',
          variant,
          String(calls),
        ],
        { cwd: root },
      ).toString();
      const report = JSON.parse(output.trim().split('\n').at(-1) as string) as ChildReport;
      runs[variant]?.push(report);
      loads.push(loadavg()[0] as number);
      console.log(
        `${variant.padEnd(22)} before ${report.rssBeforeMegabytes.toFixed(0)} MB, opened ${report.rssOpenedMegabytes.toFixed(0)} MB, peak ${report.peakRssMegabytes.toFixed(0)} MB, ${report.medianSeconds.toFixed(3)} s per minibatch`,
      );
    }
  }
  mkdirSync(path.join(root, 'bench/results'), { recursive: true });
  writeFileSync(
    path.join(root, 'bench/results/onnx-learner-memory.json'),
    `${JSON.stringify(
      {
        bench: 'onnx-learner-memory',
        head: execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root }).toString().trim(),
        rounds,
        calls,
        meanLoadAverage: loads.reduce((a, b) => a + b, 0) / loads.length,
        variants,
        runs,
      },
      null,
      2,
    )}\n`,
  );
}
