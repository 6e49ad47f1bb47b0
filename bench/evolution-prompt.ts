/**
 * Does evolving the system prompt help GRPO on a task where the prompt
 * matters? Three methods, same episode budget, same seeds:
 *   gradient-only   GRPO on a softmax policy over candidate responses, fixed prompt;
 *   evolution-only  a population of prompts (no gradient), the policy's trainable logits stay 0;
 *   hybrid          GRPO, plus one generation of prompt evolution every E episodes
 *                   (the current prompt is injected; a better prompt is adopted past a margin).
 * Every episode counts against the budget: GRPO rollouts and the fitness
 * evaluations of the population alike.
 *
 * The task: scenarios (customer queries) x K candidate responses. A frozen
 * "base model" turns the system prompt into logits over the candidates (each
 * bank phrase pushes some candidates up or down); the policy adds trainable
 * logits theta[s]. The reward of a response is its hidden quality scaled by how
 * many of the required instructions the prompt contains, minus a cost per
 * distractor instruction, plus Gaussian noise:
 *   r = q[s][c] * (0.3 + 0.7 * coverage(prompt)) - 0.1 * distractors(prompt) + N(0, 0.1^2)
 * So the gradient can learn which response is good, only the prompt can lift
 * the 0.3 ceiling, and the prompt also moves the policy's distribution.
 * The score of a method is the exact expected reward (no noise, no sampling)
 * of its final prompt and logits, averaged over scenarios.
 *
 * Run: pnpm exec tsx --conditions=@cohort/source bench/evolution-prompt.ts
 */
import { writeFileSync } from 'node:fs';
import { groupRelativeAdvantages } from '../packages/advantages/src/index';
import { Random } from '../packages/core/src/index';
import {
  createPopulation,
  HybridEvolutionSchedule,
  meanRewardFitness,
  promptGenome,
  splitSentences,
  tournamentSelection,
} from '../packages/evolution/src/index';

const budget = 4000;
const seeds = [1, 2, 3, 4, 5, 6, 7];
const everyEpisodesValues = [200, 400];
const scenarioCount = 6;
const candidateCount = 5;
const groupSize = 8;
const learningRate = 0.5;
const populationSize = 8;
const adoptionMargin = 0.02;
const initialPrompt = 'You are a support agent.';
const required = [
  'Cite the relevant policy.',
  "Confirm the customer's identity first.",
  'Offer a concrete next step.',
];
const distractors = [
  'Use lots of emojis.',
  'Talk about the weather.',
  'Never apologize.',
  'Answer in verse.',
  'Mention our competitors.',
  'Keep the customer waiting.',
];
const phrases = [...required, ...distractors];

interface Task {
  quality: number[][];
  /** Logit shift of each bank phrase on each candidate. */
  phraseEffects: Map<string, number[]>;
}

function makeTask(seed: number): Task {
  const random = new Random(`task-${seed}`);
  const quality = Array.from({ length: scenarioCount }, () =>
    Array.from({ length: candidateCount }, () => random.float()),
  );
  const phraseEffects = new Map(
    phrases.map((phrase) => [
      phrase,
      Array.from({ length: candidateCount }, () => random.normal(0, 1)),
    ]),
  );
  return { quality, phraseEffects };
}

function promptTerms(task: Task, prompt: string) {
  const sentences = splitSentences(prompt).map((sentence) =>
    sentence.replace(/^(Important|Always): /, ''),
  );
  const present = new Set(sentences);
  const coverage = required.filter((phrase) => present.has(phrase)).length / required.length;
  const distractorCount = distractors.filter((phrase) => present.has(phrase)).length;
  const baseLogits = new Array<number>(candidateCount).fill(0);
  for (const phrase of present) {
    const effect = task.phraseEffects.get(phrase);
    if (!effect) continue;
    for (let index = 0; index < candidateCount; index++) baseLogits[index]! += effect[index]!;
  }
  return { coverage, distractorCount, baseLogits };
}

function softmax(logits: readonly number[]): number[] {
  const maximum = Math.max(...logits);
  const exps = logits.map((logit) => Math.exp(logit - maximum));
  const total = exps.reduce((sum, value) => sum + value, 0);
  return exps.map((value) => value / total);
}

function expectedReward(task: Task, prompt: string, theta: number[][]): number {
  const { coverage, distractorCount, baseLogits } = promptTerms(task, prompt);
  let total = 0;
  for (let scenario = 0; scenario < scenarioCount; scenario++) {
    const probabilities = softmax(
      baseLogits.map((logit, index) => logit + theta[scenario]![index]!),
    );
    probabilities.forEach((probability, candidate) => {
      total +=
        probability *
        (task.quality[scenario]![candidate]! * (0.3 + 0.7 * coverage) - 0.1 * distractorCount);
    });
  }
  return total / scenarioCount;
}

/** One sampled episode: the response drawn and its noisy reward. */
function episode(task: Task, prompt: string, theta: number[][], scenario: number, random: Random) {
  const { coverage, distractorCount, baseLogits } = promptTerms(task, prompt);
  const probabilities = softmax(baseLogits.map((logit, index) => logit + theta[scenario]![index]!));
  const candidate = random.categorical(probabilities);
  const reward =
    task.quality[scenario]![candidate]! * (0.3 + 0.7 * coverage) -
    0.1 * distractorCount +
    random.normal(0, 0.1);
  return { candidate, reward, probabilities };
}

/** One GRPO step on one scenario: G samples, group-relative advantages, exact softmax gradient. */
function grpoStep(task: Task, prompt: string, theta: number[][], random: Random): number {
  const scenario = random.int(0, scenarioCount);
  const samples = Array.from({ length: groupSize }, () =>
    episode(task, prompt, theta, scenario, random),
  );
  const { advantages } = groupRelativeAdvantages({
    rewards: samples.map((sample) => sample.reward),
    groupSize,
  });
  const row = theta[scenario]!;
  samples.forEach((sample, index) => {
    // d log softmax(z)[c] / dz_j = 1[j = c] - p_j
    for (let j = 0; j < candidateCount; j++) {
      const gradient = (j === sample.candidate ? 1 : 0) - sample.probabilities[j]!;
      row[j]! += (learningRate * advantages[index]! * gradient) / groupSize;
    }
  });
  return groupSize;
}

const zeroTheta = () =>
  Array.from({ length: scenarioCount }, () => new Array<number>(candidateCount).fill(0));

function gradientOnly(task: Task, seed: number): number {
  const random = new Random(`grpo-${seed}`);
  const theta = zeroTheta();
  let used = 0;
  while (used + groupSize <= budget) used += grpoStep(task, initialPrompt, theta, random);
  return expectedReward(task, initialPrompt, theta);
}

/** Fitness: mean reward over every scenario with 2 fixed seeds, under the current logits. */
function promptFitness(task: Task, theta: () => number[][]) {
  return meanRewardFitness<string, number>({
    scenarios: Array.from({ length: scenarioCount }, (_, index) => index),
    seeds: [11, 12],
    evaluate: ({ genome, scenario, seed }) =>
      episode(task, genome.value, theta(), scenario, new Random(`eval-${seed}-${scenario}`)).reward,
  });
}

async function makePopulation(task: Task, seed: number, theta: () => number[][]) {
  const fitness = promptFitness(task, theta);
  const population = await createPopulation({
    genome: promptGenome({ phrases }),
    initial: [initialPrompt],
    size: populationSize,
    fitness,
    selection: tournamentSelection(3),
    elitism: 2,
    crossoverRate: 0.5,
    mutationRate: 0.9,
    seed: `population-${seed}`,
  });
  return { population, fitness };
}

async function evolutionOnly(
  task: Task,
  seed: number,
): Promise<{ score: number; generations: number }> {
  const theta = zeroTheta();
  const { population, fitness } = await makePopulation(task, seed, () => theta);
  let generations = 0;
  // A generation scores at most populationSize - elitism new genomes (12 episodes each).
  while (fitness.episodesEvaluated + populationSize * 12 <= budget) {
    await population.evolve();
    generations++;
  }
  return { score: expectedReward(task, population.best()!.genome.value, theta), generations };
}

async function hybrid(task: Task, seed: number, everyEpisodes: number) {
  const random = new Random(`grpo-${seed}`);
  const theta = zeroTheta();
  const { population, fitness } = await makePopulation(task, seed, () => theta);
  const schedule = new HybridEvolutionSchedule({ everyEpisodes, adoptionMargin });
  let prompt = initialPrompt;
  let grpoEpisodes = 0;
  let adoptions = 0;
  const used = () => grpoEpisodes + fitness.episodesEvaluated;
  while (used() + groupSize <= budget) {
    grpoEpisodes += grpoStep(task, prompt, theta, random);
    // The schedule counts gradient episodes; evaluations are paid from the same budget.
    if (schedule.onEpisodes(groupSize) && used() + populationSize * 12 <= budget) {
      // The logits changed since the last generation: cached prompt scores are stale.
      fitness.clearCache();
      population.invalidateFitness();
      const { decision } = await schedule.runGeneration({ population, trainedValue: prompt });
      if (decision.adopt) {
        prompt = decision.genome.value;
        adoptions++;
      }
    }
  }
  return {
    score: expectedReward(task, prompt, theta),
    generations: schedule.generationsRun,
    adoptions,
    gradientEpisodes: grpoEpisodes,
    evaluationEpisodes: fitness.episodesEvaluated,
  };
}

function stats(values: number[]) {
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  const sd = Math.sqrt(
    values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (values.length - 1),
  );
  return { mean, sd, min: Math.min(...values), max: Math.max(...values) };
}

const started = performance.now();
const perSeed: Record<string, unknown>[] = [];
const scores: Record<string, number[]> = { 'gradient-only': [], 'evolution-only': [] };
for (const every of everyEpisodesValues) scores[`hybrid E=${every}`] = [];
const optimum: number[] = [];
const initial: number[] = [];
for (const seed of seeds) {
  const task = makeTask(seed);
  const best = task.quality.reduce((sum, row) => sum + Math.max(...row), 0) / scenarioCount;
  optimum.push(best);
  initial.push(expectedReward(task, initialPrompt, zeroTheta()));
  const gradient = gradientOnly(task, seed);
  const evolution = await evolutionOnly(task, seed);
  scores['gradient-only']!.push(gradient);
  scores['evolution-only']!.push(evolution.score);
  const row: Record<string, unknown> = {
    seed,
    optimum: best,
    initial: initial.at(-1),
    gradientOnly: gradient,
    evolutionOnly: evolution,
  };
  for (const every of everyEpisodesValues) {
    const result = await hybrid(task, seed, every);
    scores[`hybrid E=${every}`]!.push(result.score);
    row[`hybridE${every}`] = result;
  }
  perSeed.push(row);
}
const summary = Object.fromEntries(
  Object.entries(scores).map(([name, values]) => [name, stats(values)]),
);
const gradientMean = summary['gradient-only']!.mean;
const ratios = Object.fromEntries(
  Object.entries(summary).map(([name, value]) => [name, value.mean / gradientMean]),
);
const results = {
  node: process.version,
  seconds: (performance.now() - started) / 1000,
  settings: {
    budget,
    seeds,
    everyEpisodesValues,
    scenarioCount,
    candidateCount,
    groupSize,
    learningRate,
    populationSize,
    adoptionMargin,
    evaluationEpisodesPerGenome: scenarioCount * 2,
  },
  optimum: stats(optimum),
  initial: stats(initial),
  summary,
  ratioToGradientOnly: ratios,
  perSeed,
};
writeFileSync('bench/results/evolution-prompt.json', `${JSON.stringify(results, null, 2)}\n`);
const lines = [
  '# Prompt evolution vs GRPO vs hybrid',
  '',
  `Budget ${budget} episodes per run (GRPO rollouts and fitness evaluations together), ${seeds.length} seeds, ` +
    `${scenarioCount} scenarios x ${candidateCount} candidate responses, GRPO groups of ${groupSize}, ` +
    `population ${populationSize}, adoption margin ${adoptionMargin}. Score: exact expected reward of the final ` +
    'prompt and logits (noise-free), mean over scenarios.',
  '',
  `Reference points: initial policy ${stats(initial).mean.toFixed(3)}, best achievable ${stats(optimum).mean.toFixed(3)} (mean over seeds).`,
  '',
  '| method | mean | sd | min | max | mean / gradient-only |',
  '| --- | --- | --- | --- | --- | --- |',
  ...Object.entries(summary).map(
    ([name, value]) =>
      `| ${name} | ${value.mean.toFixed(3)} | ${value.sd.toFixed(3)} | ${value.min.toFixed(3)} | ${value.max.toFixed(3)} | ${ratios[name]!.toFixed(2)} |`,
  ),
  '',
  `Node ${process.version}, ${results.seconds.toFixed(1)} s. Per-seed numbers in evolution-prompt.json.`,
  '',
];
writeFileSync('bench/results/evolution-prompt.md', lines.join('\n'));
console.log(lines.join('\n'));
