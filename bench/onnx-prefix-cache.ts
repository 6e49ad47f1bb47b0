/**
 * Multi-turn sampling with and without the ONNX sampler's prefix cache
 * (`reusePrefixes`), alternating in one process: 8 conversations, each turn
 * samples a reply (temperature 1) and appends it with a user observation, as
 * a rollout does. Shapes: the shipped 0.56M GPT-2 (a 43-token opening, 3
 * turns of 24 tokens) and the round-10 tool agent's Llama shape (random
 * weights, a 518-token opening, 6 turns of 24 tokens). Reports the median
 * milliseconds per rollout and the cache's counts.
 *
 * Results: bench/results/onnx-prefix-cache.json.
 *
 * Run: pnpm exec tsx --conditions=@cohort/source bench/onnx-prefix-cache.ts [--rounds 8]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createLlamaModel, initializeBackend, randomLlamaWeights } from '@cohort/tfjs';
import { loadGptPolicy } from '@cohort/tfjs/node';
import { createOnnxGptSampler, type OnnxExportableModel } from '@cohort/transformers';
import { toolAgentShape } from './llama-shapes';

const index = process.argv.indexOf('--rounds');
const rounds = index >= 0 ? Number(process.argv[index + 1]) : 8;
const root = fileURLToPath(new URL('..', import.meta.url));
await initializeBackend({ backend: 'wasm', logger: false });
const { policy } = await loadGptPolicy(`${root}apps/agent-trainer/models/support-agent-tiny`);
const tokenizer = policy.tokenizer;
const llama = createLlamaModel({ config: toolAgentShape, zeroInitialize: true });
llama.setWeights(randomLlamaWeights({ config: llama.config, seed: 2, scale: 0.02 }));
const observation = tokenizer.applyChatTemplate([
  { role: 'user', content: 'ok, the order number is A5760, what now?' },
]);
const shapes: Record<string, { model: OnnxExportableModel; system: string; turns: number }> = {
  'gpt2 0.56M': { model: policy.model, system: 'Be brief.', turns: 3 },
  'llama 0.5M, long context': {
    model: llama,
    system: 'You are a support agent. '.repeat(80),
    turns: 6,
  },
};
const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[values.length >> 1] as number;
const results: Record<string, unknown> = {};
for (const [name, shape] of Object.entries(shapes)) {
  const opening = tokenizer.applyChatTemplate([
    { role: 'system', content: shape.system },
    { role: 'user', content: 'my order never arrived and I want a refund now please' },
  ]);
  const samplers = {
    'prefix cache': await createOnnxGptSampler({ model: shape.model, tokenizer }),
    'full prefill': await createOnnxGptSampler({
      model: shape.model,
      tokenizer,
      reusePrefixes: false,
    }),
  };
  const milliseconds: Record<string, number[]> = { 'prefix cache': [], 'full prefill': [] };
  for (let round = 0; round <= rounds; round++) {
    for (const [label, sampler] of Object.entries(samplers)) {
      let prompts = Array.from({ length: 8 }, () => [...opening]);
      const started = performance.now();
      for (let turn = 0; turn < shape.turns; turn++) {
        const completions = await sampler.sample({
          prompts,
          groupSize: 1,
          maxNewTokens: 24,
          seed: 100 * round + turn,
        });
        prompts = completions.map((completion) => [
          ...(prompts[completion.promptIndex] as number[]),
          ...completion.tokenIds,
          ...observation,
        ]);
      }
      // Round 0 warms both up.
      if (round > 0) milliseconds[label]?.push(performance.now() - started);
    }
  }
  const cached = median(milliseconds['prefix cache'] as number[]);
  const full = median(milliseconds['full prefill'] as number[]);
  results[name] = {
    openingTokens: opening.length,
    turns: shape.turns,
    medianMilliseconds: { 'prefix cache': cached, 'full prefill': full },
    speedup: full / cached,
    cacheStats: samplers['prefix cache'].prefixCacheStats,
    milliseconds,
    loadAverage: loadavg(),
  };
  console.log(
    `${name}: prefix cache ${cached.toFixed(0)} ms, full prefill ${full.toFixed(0)} ms per rollout (${(full / cached).toFixed(2)}x); ${JSON.stringify(samplers['prefix cache'].prefixCacheStats)}`,
  );
  for (const sampler of Object.values(samplers)) await sampler.dispose();
}
mkdirSync(`${root}bench/results`, { recursive: true });
writeFileSync(
  `${root}bench/results/onnx-prefix-cache.json`,
  `${JSON.stringify({ benchmark: 'onnx-prefix-cache', date: new Date().toISOString(), rounds, results }, null, 2)}\n`,
);
