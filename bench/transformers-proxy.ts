/**
 * Generation speed of a frozen transformers.js model three ways, same model,
 * same prompts, in one run: transformers.js `generate()` (its own sampler),
 * Cohort's TransformersSampler (own loop over the same ONNX session, keeping
 * ids and log-probs), and the ProxyTunedPolicy (the same base plus a small
 * tfjs delta model stepped alongside, sampling from the sum). Reports tokens
 * per second and the proxy overhead ratio.
 * Run: pnpm exec tsx --conditions=@cohort/source bench/transformers-proxy.ts
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  initializeBackend,
  parseGpt2Config,
  randomGpt2Weights,
  trainBpeTokenizer,
} from '@cohort/tfjs';
import { exportForTransformersJs } from '@cohort/tfjs/node';
import { createProxyTunedPolicy, loadCausalLm, TransformersSampler } from '@cohort/transformers';
import { Tensor } from '@huggingface/transformers';

const backend = await initializeBackend({ backend: 'wasm', logger: false });
const tokenizer = trainBpeTokenizer({
  texts: ['the cat sat on the mat', 'hello there, how are you today?', 'my order is late'],
  vocabSize: 300,
});
// A base larger than the delta: 4 layers, width 256, vocabulary 8192 (about 6M parameters).
const baseConfig = parseGpt2Config({
  vocabSize: 8192,
  contextLength: 256,
  embeddingSize: 256,
  layerCount: 4,
  headCount: 4,
  eosTokenId: tokenizer.eosTokenId,
  bosTokenId: tokenizer.eosTokenId,
});
const deltaSize = { embeddingSize: 64, layerCount: 2, headCount: 2 };
const root = mkdtempSync(path.join(tmpdir(), 'bench-proxy-'));
const directory = path.join(root, 'base');
await exportForTransformersJs(directory, {
  config: baseConfig,
  weights: randomGpt2Weights({ config: baseConfig, seed: 1 }),
  tokenizer,
});
const { model, tokenizer: loadedTokenizer } = await loadCausalLm({ model: directory });
const prompts = Array.from({ length: 8 }, (_, b) =>
  loadedTokenizer.encode(`hello there ${'the cat sat on the mat '.repeat(1 + (b % 3))}`),
);
const maxNewTokens = 32;
const repeats = 3;

async function timeIt(label: string, run: () => Promise<number>) {
  await run(); // warm-up
  let tokens = 0;
  const start = performance.now();
  for (let repeat = 0; repeat < repeats; repeat++) tokens += await run();
  const seconds = (performance.now() - start) / 1000;
  console.log(
    `${label}: ${(tokens / seconds).toFixed(1)} tokens/s (${tokens} tokens, ${seconds.toFixed(2)} s)`,
  );
  return { tokensPerSecond: tokens / seconds, tokens, seconds };
}

const plainGenerate = await timeIt('transformers.js generate()', async () => {
  const width = Math.max(...prompts.map((prompt) => prompt.length));
  const ids = prompts.flatMap((prompt) => [
    ...new Array<number>(width - prompt.length).fill(loadedTokenizer.padTokenId),
    ...prompt,
  ]);
  const mask = prompts.flatMap((prompt) =>
    Array.from({ length: width }, (_, t) => (t < width - prompt.length ? 0 : 1)),
  );
  const output = (await model.model.generate({
    input_ids: new Tensor('int64', BigInt64Array.from(ids, BigInt), [prompts.length, width]),
    attention_mask: new Tensor('int64', BigInt64Array.from(mask, BigInt), [prompts.length, width]),
    max_new_tokens: maxNewTokens,
    min_new_tokens: maxNewTokens,
    do_sample: true,
    top_k: 0,
  } as never)) as Tensor;
  return (output.dims[0] as number) * ((output.dims[1] as number) - width);
});

const sampler = new TransformersSampler({ model, tokenizer: loadedTokenizer });
let seed = 0;
const ownLoop = await timeIt('TransformersSampler (own loop)', async () => {
  const out = await sampler.sample({ prompts, groupSize: 1, maxNewTokens, seed: seed++ });
  return out.reduce((sum, completion) => sum + completion.tokenIds.length, 0);
});

const policy = await createProxyTunedPolicy({
  base: model,
  tokenizer: loadedTokenizer,
  delta: deltaSize,
  seed: 1,
});
const proxy = await timeIt('ProxyTunedPolicy (base + delta)', async () => {
  policy.baseLogits.clear();
  const out = await policy.sample({ prompts, groupSize: 1, maxNewTokens, seed: seed++ });
  return out.reduce((sum, completion) => sum + completion.tokenIds.length, 0);
});
const proxyNoCache = await (async () => {
  const uncached = await createProxyTunedPolicy({
    base: model,
    tokenizer: loadedTokenizer,
    delta: deltaSize,
    seed: 1,
    cacheRollouts: false,
  });
  return timeIt('ProxyTunedPolicy, rollout logits not cached', async () => {
    const out = await uncached.sample({ prompts, groupSize: 1, maxNewTokens, seed: seed++ });
    return out.reduce((sum, completion) => sum + completion.tokenIds.length, 0);
  });
})();

const results = {
  benchmark: 'transformers-proxy',
  date: new Date().toISOString(),
  tfjsBackend: backend.backend,
  base: {
    layers: baseConfig.layerCount,
    width: baseConfig.embeddingSize,
    vocab: baseConfig.vocabSize,
    parameters: 'about 6.3M',
  },
  delta: { ...deltaSize, vocab: baseConfig.vocabSize },
  prompts: prompts.length,
  maxNewTokens,
  repeats,
  transformersJsGenerate: plainGenerate,
  transformersSampler: ownLoop,
  proxyTunedPolicy: proxy,
  proxyTunedPolicyWithoutRolloutCache: proxyNoCache,
  ratios: {
    proxyOverGenerate: proxy.tokensPerSecond / plainGenerate.tokensPerSecond,
    proxyOverSampler: proxy.tokensPerSecond / ownLoop.tokensPerSecond,
    samplerOverGenerate: ownLoop.tokensPerSecond / plainGenerate.tokensPerSecond,
  },
};
console.log(
  `proxy / generate() = ${results.ratios.proxyOverGenerate.toFixed(2)}, proxy / own loop = ${results.ratios.proxyOverSampler.toFixed(2)}, own loop / generate() = ${results.ratios.samplerOverGenerate.toFixed(2)}`,
);
writeFileSync(
  path.join(import.meta.dirname, 'results', 'transformers-proxy.json'),
  `${JSON.stringify(results, null, 2)}\n`,
);
rmSync(root, { recursive: true, force: true });
