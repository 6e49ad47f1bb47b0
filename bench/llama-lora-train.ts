/**
 * Llama-family learner: tokens per second and memory of LoRA against full
 * fine-tuning on the same shape (about 10M and 30M parameters, random weights),
 * steps alternating between the two in one run; and the load time of a 30M
 * BF16 Hugging Face folder.
 * Run: pnpm exec tsx --conditions=@cohort/source bench/llama-lora-train.ts [--quick]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '../packages/tfjs/node_modules/@tensorflow/tfjs/dist/tf.node.js';
import {
  createLlamaModel,
  createOptimizer,
  initializeBackend,
  type LlamaConfigInput,
  type LlamaModel,
  tokenLogProbs,
} from '../packages/tfjs/src/index';
import { loadLlamaModel, saveLlamaModel } from '../packages/tfjs/src/node';

const quick = process.argv.includes('--quick');
const choice = await initializeBackend({ backend: 'wasm', logger: false });
const batchSize = 4;
const sequenceLength = 64;
const rounds = quick ? 2 : 3;

const shapes: Record<string, LlamaConfigInput> = {
  '10M': {
    modelType: 'llama',
    vocabSize: 8192,
    hiddenSize: 256,
    intermediateSize: 768,
    layerCount: 10,
    headCount: 8,
    keyValueHeadCount: 4,
    contextLength: 256,
    tieWordEmbeddings: true,
  },
  '30M': {
    modelType: 'llama',
    vocabSize: 16384,
    hiddenSize: 384,
    intermediateSize: 1152,
    layerCount: 14,
    headCount: 6,
    keyValueHeadCount: 2,
    contextLength: 256,
    tieWordEmbeddings: true,
  },
};
const lora = { rank: 8, alpha: 16, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] as const };

function sequencesFor(vocabSize: number): number[][] {
  return Array.from({ length: batchSize }, (_, b) =>
    Array.from({ length: sequenceLength }, (_, t) => (b * 7919 + t * 104729) % vocabSize),
  );
}

interface Learner {
  model: LlamaModel;
  step: () => number;
  dispose: () => void;
}

function learner(config: LlamaConfigInput, withLora: boolean): Learner {
  const model = createLlamaModel({
    config,
    seed: 1,
    ...(withLora ? { lora: { ...lora, targets: [...lora.targets] } } : {}),
  });
  const optimizer = createOptimizer({
    type: 'adamw',
    learningRate: 1e-4,
    maxGradNorm: 1,
    variables: model.namedVariables(),
  });
  const sequences = sequencesFor(model.config.vocabSize);
  const step = (): number => {
    const { value, grads } = tf.variableGrads(() => {
      const { logProbs, mask } = tokenLogProbs(model, { sequences });
      return logProbs.sum().neg().div(mask.sum()) as tf.Scalar;
    }, model.trainableVariables());
    optimizer.applyGradients(grads);
    const loss = value.dataSync()[0] as number;
    tf.dispose([value, grads]);
    return loss;
  };
  return {
    model,
    step,
    dispose: () => {
      optimizer.dispose();
      model.dispose();
    },
  };
}

/**
 * Bytes of the backend's live data buffers, and their peak. tfjs's own
 * `numBytes` (and `tf.profile`'s `peakBytes`) count a buffer once per tensor
 * that views it, so every reshape and every tensor saved for the backward
 * pass (a clone) counts its buffer again; this counts each buffer once, by
 * watching the WASM backend's data map.
 */
function bufferMeter() {
  const storage = (
    tf.backend() as unknown as {
      dataIdMap: {
        set(dataId: object, value: { shape: number[]; dtype: string }): unknown;
        delete(dataId: object): unknown;
      };
    }
  ).dataIdMap;
  const sizes = new Map<object, number>();
  let live = 0;
  let peak = 0;
  const set = storage.set.bind(storage);
  const remove = storage.delete.bind(storage);
  storage.set = (dataId, value) => {
    if (!sizes.has(dataId)) {
      const bytes = value.shape.reduce((product, size) => product * size, 1) * 4;
      sizes.set(dataId, bytes);
      live += bytes;
      peak = Math.max(peak, live);
    }
    return set(dataId, value);
  };
  storage.delete = (dataId) => {
    live -= sizes.get(dataId) ?? 0;
    sizes.delete(dataId);
    return remove(dataId);
  };
  return {
    live: () => live,
    peak: () => peak,
    resetPeak: () => {
      peak = live;
    },
  };
}
const buffers = bufferMeter();

const results: Record<string, unknown> = {};
for (const [name, config] of Object.entries(shapes)) {
  // Memory of each learner on its own: bytes held after a step (weights, adapters, optimizer
  // moments) and the peak of a step (activations and gradients on top), both above what was there.
  // Measured twice: buffer bytes (each buffer once) and tfjs's tensor-counted bytes (the figure
  // of earlier rounds, which counts shared buffers again and again).
  const measure = async (withLora: boolean) => {
    const start = tf.memory().numBytes;
    const bufferStart = buffers.live();
    const run = learner(config, withLora);
    buffers.resetPeak();
    const profile = await tf.profile(() => {
      run.step();
    });
    return {
      run,
      heldBytes: buffers.live() - bufferStart,
      peakBytes: buffers.peak() - bufferStart,
      countedHeldBytes: tf.memory().numBytes - start,
      countedPeakBytes: profile.peakBytes - start,
    };
  };
  const fullMeasured = await measure(false);
  const loraMeasured = await measure(true);
  const full = fullMeasured.run;
  const adapted = loraMeasured.run;
  const parameters = adapted.model.parameterCount();
  const seconds = { full: 0, lora: 0 };
  for (let round = 0; round < rounds; round++) {
    for (const [kind, run] of [
      ['full', full],
      ['lora', adapted],
    ] as const) {
      const start = performance.now();
      run.step();
      seconds[kind] += (performance.now() - start) / 1000;
    }
  }
  const tokens = rounds * batchSize * sequenceLength;
  const entry = {
    config,
    parameters,
    tokensPerStep: batchSize * sequenceLength,
    fullTokensPerSecond: tokens / seconds.full,
    loraTokensPerSecond: tokens / seconds.lora,
    loraSpeedup: seconds.full / seconds.lora,
    fullPeakBytes: fullMeasured.peakBytes,
    loraPeakBytes: loraMeasured.peakBytes,
    peakMemoryRatio: loraMeasured.peakBytes / fullMeasured.peakBytes,
    fullHeldBytes: fullMeasured.heldBytes,
    loraHeldBytes: loraMeasured.heldBytes,
    heldMemoryRatio: loraMeasured.heldBytes / fullMeasured.heldBytes,
    countedPeakMemoryRatio: loraMeasured.countedPeakBytes / fullMeasured.countedPeakBytes,
    fullCountedPeakBytes: fullMeasured.countedPeakBytes,
    loraCountedPeakBytes: loraMeasured.countedPeakBytes,
  };
  console.log(
    `${name} (${((parameters.base + parameters.adapters) / 1e6).toFixed(1)}M, adapters ${(parameters.adapters / 1e3).toFixed(0)}k): full ${entry.fullTokensPerSecond.toFixed(0)} tok/s, LoRA ${entry.loraTokensPerSecond.toFixed(0)} tok/s (${entry.loraSpeedup.toFixed(2)}x); peak MB full ${(entry.fullPeakBytes / 2 ** 20).toFixed(0)}, LoRA ${(entry.loraPeakBytes / 2 ** 20).toFixed(0)} (${entry.peakMemoryRatio.toFixed(2)}); held MB full ${(entry.fullHeldBytes / 2 ** 20).toFixed(0)}, LoRA ${(entry.loraHeldBytes / 2 ** 20).toFixed(0)} (${entry.heldMemoryRatio.toFixed(2)}); tfjs-counted peak MB full ${(entry.fullCountedPeakBytes / 2 ** 20).toFixed(0)}, LoRA ${(entry.loraCountedPeakBytes / 2 ** 20).toFixed(0)} (${entry.countedPeakMemoryRatio.toFixed(2)})`,
  );
  results[name] = entry;
  full.dispose();
  adapted.dispose();
}

// Load time of the 30M shape written as a BF16 folder.
const directory = mkdtempSync(path.join(tmpdir(), 'cohort-llama-bench-'));
const source = createLlamaModel({ config: shapes['30M'] as LlamaConfigInput, seed: 2 });
await saveLlamaModel(directory, source, { dtype: 'BF16' });
source.dispose();
const loadSeconds: number[] = [];
for (let round = 0; round < (quick ? 1 : 3); round++) {
  const start = performance.now();
  const loaded = await loadLlamaModel(directory);
  loadSeconds.push((performance.now() - start) / 1000);
  loaded.dispose();
}
rmSync(directory, { recursive: true, force: true });
loadSeconds.sort((a, b) => a - b);
const load = {
  seconds: loadSeconds,
  medianSeconds: loadSeconds[Math.floor(loadSeconds.length / 2)],
};
console.log(`load 30M BF16 folder: median ${load.medianSeconds?.toFixed(2)} s`);

writeFileSync(
  'bench/results/llama-lora-train.json',
  `${JSON.stringify(
    {
      backend: choice.backend,
      batchSize,
      sequenceLength,
      rounds,
      lora,
      shapes: results,
      load30MBf16: load,
    },
    null,
    2,
  )}\n`,
);
