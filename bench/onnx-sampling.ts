/**
 * Sampling tokens/s of the trainable tfjs policy through onnxruntime-node
 * (OnnxGptSampler) against transformers.js `generate()` and against the tfjs
 * policy's own `generate`, on the shipped model, same prompts (2 chat prompts
 * x group 4, 40 new tokens each, no early stop), alternating in one run.
 * Also: the time of one policy-version refresh (export the weights to ONNX
 * and open a session) and the log-prob mismatch |logp_onnx - logp_tfjs| of
 * the sampled tokens.
 *
 * Run: pnpm exec tsx --conditions=@cohort/source bench/onnx-sampling.ts [--rounds 3]
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { initializeBackend } from '@cohort/tfjs';
import { loadGptPolicy } from '@cohort/tfjs/node';
import { createOnnxGptSampler, loadCausalLm } from '@cohort/transformers';
import { Tensor } from '@huggingface/transformers';

const roundsIndex = process.argv.indexOf('--rounds');
const rounds = roundsIndex >= 0 ? Number(process.argv[roundsIndex + 1]) : 3;
const directory = fileURLToPath(
  new URL('../apps/agent-trainer/models/support-agent-tiny', import.meta.url),
);
await initializeBackend({ backend: 'wasm', logger: false });
const { policy } = await loadGptPolicy(directory);
const { model: causalLm } = await loadCausalLm({ model: directory });
const sampler = await createOnnxGptSampler({ model: policy.model, tokenizer: policy.tokenizer });
const prompts = [
  policy.tokenizer.applyChatTemplate([{ role: 'user', content: 'my order never arrived' }]),
  policy.tokenizer.applyChatTemplate([{ role: 'user', content: 'how do I reset my password?' }]),
];
const groupSize = 4;
const maxNewTokens = 40;
const rows = prompts.flatMap((prompt) => Array.from({ length: groupSize }, () => prompt));
let seed = 0;

const runners: Record<string, () => Promise<number>> = {
  'transformers.js generate()': async () => {
    const width = Math.max(...rows.map((prompt) => prompt.length));
    const pad = policy.tokenizer.padTokenId;
    const ids = rows.flatMap((prompt) => [
      ...new Array<number>(width - prompt.length).fill(pad),
      ...prompt,
    ]);
    const mask = rows.flatMap((prompt) =>
      Array.from({ length: width }, (_, t) => (t < width - prompt.length ? 0 : 1)),
    );
    const output = (await causalLm.model.generate({
      input_ids: new Tensor('int64', BigInt64Array.from(ids, BigInt), [rows.length, width]),
      attention_mask: new Tensor('int64', BigInt64Array.from(mask, BigInt), [rows.length, width]),
      max_new_tokens: maxNewTokens,
      min_new_tokens: maxNewTokens,
      do_sample: true,
      top_k: 0,
    } as never)) as Tensor;
    return (output.dims[0] as number) * ((output.dims[1] as number) - width);
  },
  OnnxGptSampler: async () => {
    const out = await sampler.sample({ prompts, groupSize, maxNewTokens, seed: seed++ });
    return out.reduce((sum, completion) => sum + completion.tokenIds.length, 0);
  },
  'tfjs GptPolicy.sample': async () => {
    const out = await policy.sample({ prompts, groupSize, maxNewTokens, seed: seed++ });
    return out.reduce((sum, completion) => sum + completion.tokenIds.length, 0);
  },
};

const tokensPerSecond: Record<string, number[]> = {};
for (const [name, run] of Object.entries(runners)) {
  await run();
  tokensPerSecond[name] = [];
}
for (let round = 0; round < rounds; round++) {
  for (const [name, run] of Object.entries(runners)) {
    const start = performance.now();
    const tokens = await run();
    const rate = tokens / ((performance.now() - start) / 1000);
    tokensPerSecond[name]?.push(rate);
    console.log(`round ${round} ${name}: ${rate.toFixed(0)} tokens/s (${tokens} tokens)`);
  }
}
const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const refreshSeconds: number[] = [];
for (let index = 0; index < 5; index++) {
  await sampler.refresh();
  refreshSeconds.push(sampler.lastRefreshSeconds);
}
const completions = await sampler.sample({
  prompts,
  groupSize,
  maxNewTokens,
  seed: 99,
  stopTokenIds: [policy.tokenizer.endOfTurnTokenId ?? policy.tokenizer.eosTokenId],
});
const mismatch = sampler.logProbMismatch({ prompts, completions });
const onnx = tokensPerSecond.OnnxGptSampler as number[];
const generate = tokensPerSecond['transformers.js generate()'] as number[];
const tfjs = tokensPerSecond['tfjs GptPolicy.sample'] as number[];
const result = {
  benchmark: 'onnx-sampling',
  date: new Date().toISOString(),
  model: { ...policy.model.config, parameterCount: policy.model.parameterCount() },
  setup: { prompts: prompts.length, groupSize, maxNewTokens, rounds },
  loadAverage: loadavg(),
  tokensPerSecond,
  medianTokensPerSecond: Object.fromEntries(
    Object.entries(tokensPerSecond).map(([name, values]) => [name, median(values)]),
  ),
  onnxOverGeneratePerRound: onnx.map((value, index) => value / (generate[index] as number)),
  onnxOverTfjsPerRound: onnx.map((value, index) => value / (tfjs[index] as number)),
  refreshSeconds: { median: median(refreshSeconds), all: refreshSeconds },
  logProbMismatch: mismatch,
};
console.log(JSON.stringify(result, null, 2));
writeFileSync(
  fileURLToPath(new URL('./results/onnx-sampling.json', import.meta.url)),
  `${JSON.stringify(result, null, 2)}\n`,
);
await sampler.dispose();
