/**
 * Latency the rollout gateway adds to one call: the same prompt sampled by
 * `policy.sample` directly and through the gateway with the real `openai`
 * client (HTTP, JSON, template, episode recording), alternating, same seeds.
 * Run: pnpm exec tsx --conditions=@cohort/source bench/gateway-latency.ts
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { createRolloutGateway } from '../packages/gateway/src/index';
import { initializeBackend } from '../packages/tfjs/src/index';
import { loadGptPolicy } from '../packages/tfjs/src/node';

await initializeBackend({ logger: false });
const { policy, tokenizer } = await loadGptPolicy(
  fileURLToPath(new URL('../apps/agent-trainer/models/support-agent-tiny', import.meta.url)),
);
const gateway = await createRolloutGateway({ policy, contextLength: 256, modelName: 'tiny' });
const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'unused', maxRetries: 0 });
const messages = [
  { role: 'system' as const, content: 'You are a support agent for an online store.' },
  { role: 'user' as const, content: 'Hi, my order A5760 has not arrived yet.' },
];
const prompt = tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true });
const stopTokenIds = [
  ...new Set([tokenizer.endOfTurnTokenId ?? tokenizer.eosTokenId, tokenizer.eosTokenId]),
];
const maxNewTokens = 32;
const direct: number[] = [];
const viaGateway: number[] = [];
let tokensDirect = 0;
let tokensGateway = 0;
for (let round = 0; round < 24; round++) {
  const seed = 1000 + round;
  let start = performance.now();
  const [completion] = await policy.sample({
    prompts: [prompt],
    groupSize: 1,
    seed,
    maxNewTokens,
    temperature: 1,
    stopTokenIds,
  });
  direct.push(performance.now() - start);
  tokensDirect += completion!.tokenIds.length;
  start = performance.now();
  const answer = await client.chat.completions.create(
    { model: 'tiny', messages, max_tokens: maxNewTokens, temperature: 1, seed },
    { headers: { 'x-episode-id': `bench-${round}` } },
  );
  viaGateway.push(performance.now() - start);
  tokensGateway += answer.usage?.completion_tokens ?? 0;
}
await gateway.close();
const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const warm = (values: number[]) => values.slice(4);
const result = {
  date: new Date().toISOString(),
  rounds: 20,
  maxNewTokens,
  sameTokens: tokensDirect === tokensGateway,
  medianDirectMs: median(warm(direct)),
  medianGatewayMs: median(warm(viaGateway)),
  medianAddedMs: median(warm(viaGateway).map((value, index) => value - warm(direct)[index]!)),
};
console.log(result);
writeFileSync(
  new URL('./results/gateway-latency.json', import.meta.url),
  `${JSON.stringify(result, null, 2)}\n`,
);
