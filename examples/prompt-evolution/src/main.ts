/**
 * Evolves a population of system prompts with `@cohort/evolution`: rule-based
 * edits from a phrase bank (insert, delete, replace, emphasis, reorder) and,
 * through the `rewrite` hook, LLM-style rewrites. Fitness is the mean reward
 * of a fixed agent that follows its prompt (instruction-following-agent.ts) on
 * a fixed set of support scenarios, through the real conversation
 * environment, scripted user and rewards of `@cohort/environments`.
 *
 * Run: pnpm --filter @cohort/example-prompt-evolution start
 */
import { pathToFileURL } from 'node:url';
import type { GenerationSummary, Scenario } from '@cohort/core';
import {
  compositeReward,
  createConversationEnvironment,
  goalCompletionReward,
  lengthReward,
  supportCategories,
  supportScenarios,
} from '@cohort/environments';
import {
  createPopulation,
  createSpliceRewriter,
  meanRewardFitness,
  promptGenome,
} from '@cohort/evolution';
import {
  distractorInstructions,
  instructionFollowingReply,
  skillInstructions,
} from './instruction-following-agent';

const environment = createConversationEnvironment({ includeContext: true });
// Goal completion, minus DAPO's overlong penalty on replies past 30 words (-1 at 60).
const reward = compositeReward({
  components: [
    { reward: goalCompletionReward(), weight: 1 },
    { reward: lengthReward({ maxTokens: 60, bufferTokens: 30 }), weight: 0.5 },
  ],
});

/** Runs one conversation of the fixed agent under `systemPrompt` and scores it. */
export async function episodeReward(
  systemPrompt: string,
  scenario: Scenario,
  seed: number,
): Promise<number> {
  const episode = await environment.reset({ scenario, seed, systemPrompt });
  for (;;) {
    const reply = instructionFollowingReply(systemPrompt, scenario, episode.messages);
    const result = await episode.step(reply);
    if (!result.done) continue;
    const scored = await reward.scoreDetailed({
      scenario,
      messages: episode.messages,
      completion: reply,
      turnIndex: episode.messages.filter((message) => message.role === 'assistant').length - 1,
      done: true,
      ...(result.endReason ? { endReason: result.endReason } : {}),
      completionTokenCount: reply.split(/\s+/).length, // words stand in for tokens
    });
    return scored.total ?? 0; // null only when no component applies
  }
}

/** Mean reward of a prompt over scenarios, one episode each with a fixed seed. */
export async function meanReward(prompt: string, scenarios: readonly Scenario[]): Promise<number> {
  let total = 0;
  for (const scenario of scenarios) total += await episodeReward(prompt, scenario, 1);
  return total / scenarios.length;
}

/** What the run produced. */
export interface PromptEvolutionResult {
  initialPrompt: string;
  bestPrompt: string;
  history: GenerationSummary[];
  /** Mean reward on the held-out (eval split) scenarios, of the initial and the best prompt. */
  heldOut: { initial: number; best: number };
}

/** Evolves prompts for `generations` generations and checks the winner on held-out scenarios. */
export async function main(
  options: { generations?: number; seed?: number; log?: (line: string) => void } = {},
): Promise<PromptEvolutionResult> {
  const { generations = 20, seed = 1, log = console.log } = options;
  const initialPrompt = 'You are a customer support agent.';
  const phrases = [...Object.keys(skillInstructions), ...Object.keys(distractorInstructions)];
  // Three training scenarios of each category, always the same: fitness is deterministic.
  const fitnessScenarios = supportCategories.flatMap((category) =>
    supportScenarios({ split: 'train', categories: [category] }).slice(0, 3),
  );
  const fitness = meanRewardFitness<string, Scenario>({
    scenarios: fitnessScenarios,
    seeds: [1],
    evaluate: ({ genome, scenario, seed: episodeSeed }) =>
      episodeReward(genome.value, scenario, episodeSeed),
  });
  const population = await createPopulation({
    genome: promptGenome({
      phrases,
      // The LLM hook: any async ({ instruction, texts, random }) => string. The
      // splice rewriter needs no model; a transformers.js chat model asked to
      // "improve this prompt" plugs in the same way.
      rewrite: createSpliceRewriter({ phrases }),
      llmMutationProbability: 0.25,
    }),
    initial: [initialPrompt],
    size: 8,
    elitism: 1,
    fitness,
    seed,
  });
  for (let generation = 0; generation < generations; generation++) {
    const summary = await population.evolve();
    log(
      `generation ${summary.generation}: best ${summary.bestFitness.toFixed(3)}, mean ${summary.meanFitness.toFixed(3)}, diversity ${summary.diversity.toFixed(2)}`,
    );
  }
  const best = population.best()!;
  log(`best prompt (fitness ${best.fitness.toFixed(3)}):\n  ${best.genome.value}`);
  const heldOutScenarios = supportScenarios({ split: 'eval' });
  const heldOut = {
    initial: await meanReward(initialPrompt, heldOutScenarios),
    best: await meanReward(best.genome.value, heldOutScenarios),
  };
  log(
    `held-out mean reward (${heldOutScenarios.length} eval scenarios): ${heldOut.initial.toFixed(3)} -> ${heldOut.best.toFixed(3)}`,
  );
  log(`${fitness.episodesEvaluated} fitness episodes over ${fitness.genomesEvaluated} prompts`);
  return {
    initialPrompt,
    bestPrompt: best.genome.value,
    history: [...population.history],
    heldOut,
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
