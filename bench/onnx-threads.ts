/**
 * ONNX Runtime's thread count for the sampler's and the reference's sessions,
 * alternating in one run: ONNX Runtime's default (one thread per core, the
 * extra ones pinned to cores), 1 thread, and 2 threads (not pinned). Each
 * shape samples a default GRPO step's rollout shape (2 chat prompts x group
 * 4, 40 new tokens, no early stop) and scores a default step's reference
 * batch (8 sequences of 120-250 tokens; 4 of 600-1000 for the long-context
 * shape). Shapes: the shipped 0.56M GPT-2, the round-10 tool agent's Llama
 * shape (128 wide, 2 layers), a 3M Llama (256 wide, 4 layers) and an 11M Llama (384 wide, 6 layers), random
 * weights. Reports median tokens/s per setting and the ratio to the default.
 *
 * Results: bench/results/onnx-threads.json.
 *
 * Run: pnpm exec tsx --conditions=@cohort/source bench/onnx-threads.ts [--rounds 7] [--shapes gpt2,issue21,3M,11M]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Random } from '@cohort/core';
import {
  createLlamaModel,
  initializeBackend,
  type LlamaModel,
  randomLlamaWeights,
} from '@cohort/tfjs';
import { loadGptPolicy } from '@cohort/tfjs/node';
import {
  createOnnxGptSampler,
  createOnnxReferenceModel,
  type OnnxExportableModel,
} from '@cohort/transformers';
import { benchLlamaConfig, elevenMillionShape, toolAgentShape } from './llama-shapes';

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(name);
  return index >= 0 ? (process.argv[index + 1] as string) : fallback;
}
const rounds = Number(argument('--rounds', '7'));
const only = argument('--shapes', 'gpt2,issue21,3M,11M').split(',');
const root = fileURLToPath(new URL('..', import.meta.url));
await initializeBackend({ backend: 'wasm', logger: false });
const { policy } = await loadGptPolicy(`${root}apps/agent-trainer/models/support-agent-tiny`);
const { tokenizer } = policy;

function llama(config: ReturnType<typeof benchLlamaConfig>) {
  const model = createLlamaModel({ config, zeroInitialize: true });
  model.setWeights(randomLlamaWeights({ config: model.config, seed: 2, scale: 0.02 }));
  return model;
}

const shapes: Record<
  string,
  () => { model: OnnxExportableModel; referenceLengths: [number, number, number] }
> = {
  gpt2: () => ({ model: policy.model, referenceLengths: [8, 120, 250] }),
  issue21: () => ({ model: llama(toolAgentShape), referenceLengths: [4, 600, 1000] }),
  '3M': () => ({ model: llama(benchLlamaConfig(256, 704, 4, 4)), referenceLengths: [8, 120, 250] }),
  '11M': () => ({ model: llama(elevenMillionShape), referenceLengths: [8, 120, 250] }),
};
const settings: Record<string, { intraOpNumThreads?: number }> = {
  'ONNX Runtime default': { intraOpNumThreads: 0 },
  '1 thread': { intraOpNumThreads: 1 },
  '2 threads': { intraOpNumThreads: 2 },
};
const prompts = [
  tokenizer.applyChatTemplate([{ role: 'user', content: 'my order never arrived' }]),
  tokenizer.applyChatTemplate([{ role: 'user', content: 'how do I reset my password?' }]),
];
const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[values.length >> 1] as number;

const results: Record<string, unknown> = {};
for (const [name, build] of Object.entries(shapes)) {
  if (!only.includes(name)) continue;
  const { model, referenceLengths } = build();
  const [count, shortest, longest] = referenceLengths;
  const random = new Random(3);
  const sequences = Array.from({ length: count }, () =>
    Array.from({ length: random.int(shortest, longest) }, () => random.int(4, 1000)),
  );
  const referenceTokens = sequences.reduce((sum, sequence) => sum + sequence.length, 0);
  const sides = await Promise.all(
    Object.entries(settings).map(async ([label, options]) => ({
      label,
      sampler: await createOnnxGptSampler({ model, tokenizer, ...options }),
      reference: await createOnnxReferenceModel({
        model: model as LlamaModel,
        padTokenId: tokenizer.padTokenId,
        ...options,
      }),
      sampling: [] as number[],
      scoring: [] as number[],
    })),
  );
  for (let round = 0; round <= rounds; round++) {
    for (const side of sides) {
      let started = performance.now();
      const completions = await side.sampler.sample({
        prompts,
        groupSize: 4,
        maxNewTokens: 40,
        seed: round,
      });
      const sampled = completions.reduce((sum, completion) => sum + completion.tokenIds.length, 0);
      const samplingRate = sampled / ((performance.now() - started) / 1000);
      started = performance.now();
      await side.reference.referenceLogProbs({ sequences, temperature: 1 });
      const scoringRate = referenceTokens / ((performance.now() - started) / 1000);
      // Round 0 warms every session up.
      if (round > 0) {
        side.sampling.push(samplingRate);
        side.scoring.push(scoringRate);
      }
    }
  }
  const baseline = sides[0] as (typeof sides)[number];
  results[name] = {
    parameterCount: model.parameterCount(),
    referenceSequences: { count, shortest, longest, tokens: referenceTokens },
    loadAverage: loadavg(),
    sides: sides.map((side) => ({
      label: side.label,
      samplingTokensPerSecond: median(side.sampling),
      scoringTokensPerSecond: median(side.scoring),
      samplingOverDefault: median(side.sampling) / median(baseline.sampling),
      scoringOverDefault: median(side.scoring) / median(baseline.scoring),
      sampling: side.sampling,
      scoring: side.scoring,
    })),
  };
  for (const side of sides) {
    console.log(
      `${name.padEnd(8)} ${side.label.padEnd(22)} sampling ${median(side.sampling).toFixed(0)} tok/s (${(median(side.sampling) / median(baseline.sampling)).toFixed(2)}x)  reference ${median(side.scoring).toFixed(0)} tok/s (${(median(side.scoring) / median(baseline.scoring)).toFixed(2)}x)`,
    );
    await side.sampler.dispose();
  }
}
mkdirSync(`${root}bench/results`, { recursive: true });
writeFileSync(
  `${root}bench/results/onnx-threads.json`,
  `${JSON.stringify({ benchmark: 'onnx-threads', date: new Date().toISOString(), rounds, results }, null, 2)}\n`,
);
