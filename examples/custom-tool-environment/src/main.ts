/**
 * Runs agents on a user-written tool environment (the currency desk, in
 * currency-desk-environment.ts): an agent that calls the tool and does the
 * arithmetic, one that guesses without tools, and a random policy rolled out
 * by the trainer, whose trajectories keep every tool call in typed form.
 *
 * Run: pnpm --filter @cohort/example-custom-tool-environment start
 */
import { pathToFileURL } from 'node:url';
import type { Message } from '@cohort/core';
import { MockPolicy } from '@cohort/core/test';
import { formatToolCalls, type ToolCallMetrics, toolCallMetrics } from '@cohort/environments';
import { rolloutGroups } from '@cohort/trainer';
import { type CurrencyQuestion, createCurrencyDeskEnvironment } from './currency-desk-environment';

type Agent = (messages: readonly Message[]) => string;

/** Calls exchange_rate for the asked pair, then answers amount x rate. */
export const toolAgent: Agent = (messages) => {
  const [, amount, from, to] = /How much is ([\d.]+) (\w+) in (\w+)/.exec(messages[1]!.content)!;
  const result = [...messages].reverse().find((message) => message.role === 'tool');
  if (!result)
    return formatToolCalls([{ name: 'exchange_rate', arguments: { from, to } }], 'hermes');
  const { rate } = JSON.parse(result.content) as { rate: number };
  return `That is ${(Number(amount) * rate).toFixed(2)} ${to}.`;
};

/** Answers at once, assuming the currencies trade one to one. */
export const guessingAgent: Agent = (messages) =>
  `About ${Number(/([\d.]+)/.exec(messages[1]!.content)![1]).toFixed(2)}.`;

/** Held-out questions, deterministic. */
export const questions: CurrencyQuestion[] = ['USD', 'JPY', 'GBP', 'CHF'].flatMap((to, index) =>
  [25, 120, 999.5].map((amount) => ({
    id: `${to}-${amount}`,
    amount,
    from: index % 2 ? 'EUR' : 'CHF',
    to,
  })),
);

async function successRate(agent: Agent): Promise<number> {
  const environment = createCurrencyDeskEnvironment();
  let successes = 0;
  for (const [seed, question] of questions.entries()) {
    const episode = await environment.reset({ scenario: question, seed });
    while (!episode.done) await episode.step(agent(episode.messages));
    if (episode.endReason === 'success') successes += 1;
  }
  return successes / questions.length;
}

/** What the run measured. */
export interface CustomToolEnvironmentResult {
  toolAgent: number;
  guessingAgent: number;
  randomPolicy: { successRate: number; toolCalls: ToolCallMetrics };
}

export async function main(options: { log?: (line: string) => void } = {}) {
  const { log = console.log } = options;
  const result: CustomToolEnvironmentResult = {
    toolAgent: await successRate(toolAgent),
    guessingAgent: await successRate(guessingAgent),
    randomPolicy: { successRate: 0, toolCalls: toolCallMetrics([]) },
  };
  // A policy that samples characters at random, rolled out by the trainer as it would roll out a model.
  const policy = new MockPolicy({ logits: Array.from({ length: 100 }, () => 0) });
  const rollout = await rolloutGroups({
    policy,
    environment: createCurrencyDeskEnvironment(),
    scenarios: questions.slice(0, 4),
    groupSize: 4,
    seed: 1,
    generation: { maxNewTokens: 24, stopTokenIds: [policy.tokenizer.endOfTurnTokenId!] },
    rewards: [],
    maxSequenceLength: 2048,
    label: 'random',
  });
  const trajectories = rollout.groups.flatMap((group) => group.trajectories);
  result.randomPolicy = {
    successRate:
      trajectories.filter((item) => item.endReason === 'success').length / trajectories.length,
    toolCalls: toolCallMetrics(trajectories),
  };
  log(`tool agent: ${result.toolAgent}, guessing agent: ${result.guessingAgent}`);
  log(
    `random policy: ${result.randomPolicy.successRate}, tool calls ${result.randomPolicy.toolCalls.calls}`,
  );
  return result;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
