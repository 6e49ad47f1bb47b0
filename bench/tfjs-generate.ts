/**
 * Generation tokens per second of a small GPT with the KV cache versus full
 * recomputation every step, same prompts, same seed, in one run.
 * Run: pnpm exec tsx --conditions=@cohort/source bench/tfjs-generate.ts
 */
import { writeFileSync } from 'node:fs';
import { createGptModel, generate, initializeBackend } from '../packages/tfjs/src/index';

const config = {
  vocabSize: 256,
  contextLength: 128,
  embeddingSize: 128,
  layerCount: 4,
  headCount: 4,
};
const choice = await initializeBackend({
  backend: process.argv.includes('--auto') ? 'auto' : 'wasm',
  logger: false,
});
const model = createGptModel({ config, seed: 1 });
const prompts = Array.from({ length: 8 }, (_, b) =>
  Array.from({ length: 16 + b }, (_, t) => (b * 13 + t * 5) % 256),
);
const maxNewTokens = 64;

async function run(useCache: boolean) {
  await generate(model, { prompts, maxNewTokens: 4, seed: 1, eosTokenId: null, useCache });
  const start = performance.now();
  const out = await generate(model, {
    prompts,
    maxNewTokens,
    temperature: 1,
    topK: 40,
    seed: 1,
    eosTokenId: null,
    useCache,
  });
  const seconds = (performance.now() - start) / 1000;
  const tokens = out.reduce((sum, sequence) => sum + sequence.tokenIds.length, 0);
  console.log(
    `cache ${useCache}: ${(tokens / seconds).toFixed(0)} tokens/s (${tokens} tokens, ${seconds.toFixed(2)} s)`,
  );
  return {
    tokensPerSecond: tokens / seconds,
    tokens,
    seconds,
    tokenIds: out.map((sequence) => sequence.tokenIds),
  };
}

const cached = await run(true);
const uncached = await run(false);
const result = {
  backend: choice.backend,
  model: config,
  batch: prompts.length,
  maxNewTokens,
  withCache: {
    tokensPerSecond: cached.tokensPerSecond,
    seconds: cached.seconds,
    tokens: cached.tokens,
  },
  withoutCache: {
    tokensPerSecond: uncached.tokensPerSecond,
    seconds: uncached.seconds,
    tokens: uncached.tokens,
  },
  speedup: cached.tokensPerSecond / uncached.tokensPerSecond,
  sameTokens: JSON.stringify(cached.tokenIds) === JSON.stringify(uncached.tokenIds),
};
console.log(`speedup ${result.speedup.toFixed(2)}x, same tokens: ${result.sameTokens}`);
writeFileSync('bench/results/tfjs-generate.json', `${JSON.stringify(result, null, 2)}\n`);
model.dispose();
