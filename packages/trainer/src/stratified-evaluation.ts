import {
  type Environment,
  InvalidArgumentError,
  Random,
  type Scenario,
  type Trajectory,
} from '@cohort/core';
import { type ToolCallMetrics, toolCallMetrics } from '@cohort/environments';
import type { GrpoTrainer } from './grpo-trainer';
import type { ScenarioLike, WeightedReward } from './reward-scoring-stage';
import { rolloutGroups } from './rollout';
import { mean } from './statistics';
import { type EvaluationMetrics, meanByFunction } from './step-metrics';

/** A 95% interval `[low, high]`. */
export type Interval = [number, number];

/** One evaluated scenario: its category, its reward (mean over its episodes) and success. */
export interface ScenarioResult {
  scenarioId: string;
  category: string;
  reward: number;
  /** Share of its episodes that ended with `success`. */
  success: number;
}

/** The figures of one category. */
export interface CategoryEvaluation {
  scenarios: number;
  rewardMean: number;
  successRate: number;
  rewardInterval: Interval;
}

/** A held-out evaluation with a confidence interval and a figure per category. */
export interface StratifiedEvaluationMetrics extends EvaluationMetrics {
  scenarios: number;
  /** 95% stratified bootstrap interval of `rewardMean` over scenarios. */
  rewardInterval: Interval;
  /** 95% stratified bootstrap interval of `successRate` over scenarios. */
  successInterval: Interval;
  byCategory: Record<string, CategoryEvaluation>;
  perScenario: ScenarioResult[];
  /** Tool use over every evaluated episode (absent when no episode could call tools). */
  toolCalls?: ToolCallMetrics;
  /** The sums over every evaluated episode of the figures of `episodeCounts` (for example invented order ids). */
  counts?: Record<string, number>;
}

/** The category of a scenario: its `category` field, else `all`. */
export function scenarioCategory(scenario: ScenarioLike): string {
  const category = (scenario as { category?: unknown }).category;
  return typeof category === 'string' && category.length > 0 ? category : 'all';
}

/**
 * At most `maximum` scenarios (0: all), taken round-robin over the
 * categories in order of first appearance, so that every category is in the
 * sample in near-equal numbers (the first 12 of the support set are all
 * refunds and shipping). Deterministic: the same scenarios every time.
 *
 * @example
 * ```ts
 * stratifiedScenarios(supportScenarios({ split: 'eval' }), 12); // 3 of each of the 4 categories
 * ```
 */
export function stratifiedScenarios<S extends ScenarioLike>(
  scenarios: readonly S[],
  maximum: number,
  categoryOf: (scenario: S) => string = scenarioCategory,
): S[] {
  if (!Number.isInteger(maximum) || maximum < 0) {
    throw new InvalidArgumentError({
      argument: 'maximum',
      value: maximum,
      message: 'must be an integer >= 0 (0: all)',
    });
  }
  if (maximum === 0 || maximum >= scenarios.length) return [...scenarios];
  const byCategory = new Map<string, S[]>();
  for (const scenario of scenarios) {
    const category = categoryOf(scenario);
    byCategory.set(category, [...(byCategory.get(category) ?? []), scenario]);
  }
  const queues = [...byCategory.values()];
  const chosen: S[] = [];
  for (let round = 0; chosen.length < maximum; round++) {
    for (const queue of queues) {
      if (round < queue.length && chosen.length < maximum) chosen.push(queue[round]!);
    }
  }
  return chosen;
}

/**
 * The 95% percentile bootstrap interval of a mean over units grouped in
 * strata: each resample draws, within every stratum, as many units as it has,
 * with replacement (Efron & Tibshirani 1993, "An Introduction to the
 * Bootstrap", sec. 13.3 percentile interval; stratified resampling keeps the
 * category mix of the evaluation set fixed). `resamples` draws, seeded.
 * Values of one unit may be a difference (after - before) for a paired interval.
 *
 * @example
 * ```ts
 * stratifiedBootstrapInterval({ values: [0, 1, 1, 0], strata: ['a', 'a', 'b', 'b'], seed: 1 }); // about [0.25, 0.75]
 * ```
 */
export function stratifiedBootstrapInterval(options: {
  values: readonly number[];
  strata: readonly string[];
  seed: number;
  resamples?: number;
  level?: number;
}): Interval {
  const { values, strata } = options;
  const resamples = options.resamples ?? 2000;
  const level = options.level ?? 0.95;
  if (values.length !== strata.length) {
    throw new InvalidArgumentError({
      argument: 'strata',
      value: strata.length,
      message: `must have one stratum per value (${values.length})`,
    });
  }
  if (values.length === 0) return [0, 0];
  const groups = new Map<string, number[]>();
  for (const [index, value] of values.entries()) {
    const stratum = strata[index]!;
    groups.set(stratum, [...(groups.get(stratum) ?? []), value]);
  }
  const random = new Random(options.seed);
  const means: number[] = [];
  for (let draw = 0; draw < resamples; draw++) {
    let sum = 0;
    for (const group of groups.values()) {
      for (let index = 0; index < group.length; index++) sum += group[random.int(0, group.length)]!;
    }
    means.push(sum / values.length);
  }
  means.sort((a, b) => a - b);
  const tail = (1 - level) / 2;
  const at = (quantile: number) =>
    means[Math.min(means.length - 1, Math.max(0, Math.round(quantile * (means.length - 1))))]!;
  return [at(tail), at(1 - tail)];
}

/** Options of {@link evaluateStratified}. */
export interface StratifiedEvaluationOptions<S extends ScenarioLike = Scenario> {
  environment: Environment<S>;
  rewards: readonly WeightedReward<S>[];
  /** The held-out scenarios; at most `trainer.config.evaluation.maxScenarios` of them, stratified. */
  scenarios: readonly S[];
  categoryOf?: (scenario: S) => string;
  /** Overrides `trainer.config.evaluation.maxScenarios` (0: all). */
  maxScenarios?: number;
  /** Overrides `trainer.config.evaluation.seed`. */
  seed?: number;
  /**
   * Figures counted on each evaluated episode and summed over all of them
   * into `counts` (for example the support desk's invented order ids).
   */
  episodeCounts?: (trajectory: Trajectory, scenario: S) => Record<string, number>;
}

/**
 * Evaluates the trainer's policy on a stratified sample of the held-out
 * scenarios ({@link stratifiedScenarios}) with the trainer's evaluation
 * settings (seed, temperature, episodes per scenario) and the training
 * rewards, so that the figures are on the same scale as the training reward.
 * Reports the mean reward and success rate with 95% stratified bootstrap
 * intervals over scenarios, the same per category, each scenario's result
 * (for paired gains), and one sample conversation per category.
 *
 * @example
 * ```ts
 * const metrics = await evaluateStratified(trainer, { environment, rewards, scenarios: evalScenarios });
 * metrics.byCategory.refunds.rewardMean;
 * ```
 */
export async function evaluateStratified<S extends ScenarioLike>(
  trainer: GrpoTrainer<S>,
  options: StratifiedEvaluationOptions<S>,
): Promise<StratifiedEvaluationMetrics> {
  const { evaluation, generation, maxSequenceLength } = trainer.config;
  const categoryOf = options.categoryOf ?? scenarioCategory;
  const scenarios = stratifiedScenarios(
    options.scenarios,
    options.maxScenarios ?? evaluation.maxScenarios,
    categoryOf,
  );
  const seed = options.seed ?? evaluation.seed;
  if (scenarios.length === 0) {
    throw new InvalidArgumentError({
      argument: 'scenarios',
      value: [],
      message: 'evaluation needs scenarios',
    });
  }
  const { tokenizer } = trainer.policy;
  const result = await rolloutGroups({
    policy: trainer.policy,
    environment: options.environment,
    scenarios,
    groupSize: evaluation.episodesPerScenario,
    seed,
    generation: {
      maxNewTokens: generation.maxNewTokens,
      temperature: evaluation.temperature,
      topK: generation.topK,
      topP: generation.topP,
      stopTokenIds: [tokenizer.endOfTurnTokenId ?? tokenizer.eosTokenId],
    },
    rewards: options.rewards,
    ...(trainer.systemPrompt === undefined ? {} : { systemPrompt: trainer.systemPrompt }),
    maxSequenceLength,
    label: `eval${trainer.currentStep}`,
  });
  const trajectories: Trajectory[] = result.groups.flatMap((group) => group.trajectories);
  const perScenario: ScenarioResult[] = result.groups.map((group, index) => ({
    scenarioId: group.scenarioId,
    category: categoryOf(scenarios[index]!),
    reward: mean(group.trajectories.map((trajectory) => trajectory.totalReward)),
    success: mean(
      group.trajectories.map((trajectory) => (trajectory.endReason === 'success' ? 1 : 0)),
    ),
  }));
  const strata = perScenario.map((entry) => entry.category);
  const rewards = perScenario.map((entry) => entry.reward);
  const successes = perScenario.map((entry) => entry.success);
  const byCategory: Record<string, CategoryEvaluation> = {};
  for (const category of [...new Set(strata)]) {
    const entries = perScenario.filter((entry) => entry.category === category);
    byCategory[category] = {
      scenarios: entries.length,
      rewardMean: mean(entries.map((entry) => entry.reward)),
      successRate: mean(entries.map((entry) => entry.success)),
      rewardInterval: stratifiedBootstrapInterval({
        values: entries.map((entry) => entry.reward),
        strata: entries.map(() => category),
        seed,
      }),
    };
  }
  const totals = trajectories.map((trajectory) => trajectory.totalReward);
  const overall = mean(totals);
  let counts: Record<string, number> | undefined;
  if (options.episodeCounts) {
    counts = {};
    for (const [index, group] of result.groups.entries()) {
      for (const trajectory of group.trajectories) {
        for (const [name, value] of Object.entries(
          options.episodeCounts(trajectory, scenarios[index]!),
        ))
          counts[name] = (counts[name] ?? 0) + value;
      }
    }
  }
  const withTools = trajectories.some((trajectory) => trajectory.toolCalls !== undefined);
  const firstOfCategory = new Map<string, Trajectory>();
  for (const [index, group] of result.groups.entries()) {
    const category = categoryOf(scenarios[index]!);
    if (!firstOfCategory.has(category) && group.trajectories[0])
      firstOfCategory.set(category, group.trajectories[0]);
  }
  return {
    step: trainer.currentStep,
    episodes: trajectories.length,
    scenarios: scenarios.length,
    rewardMean: overall,
    rewardStd: Math.sqrt(mean(totals.map((value) => (value - overall) ** 2))),
    successRate: mean(
      trajectories.map((trajectory) => (trajectory.endReason === 'success' ? 1 : 0)),
    ),
    rewardInterval: stratifiedBootstrapInterval({ values: rewards, strata, seed }),
    successInterval: stratifiedBootstrapInterval({ values: successes, strata, seed: seed + 1 }),
    byCategory,
    perScenario,
    ...(withTools ? { toolCalls: toolCallMetrics(trajectories) } : {}),
    ...(counts ? { counts } : {}),
    rewardMeanByFunction: meanByFunction(trajectories),
    samples: [...firstOfCategory.values()].map((trajectory) => ({
      scenarioId: trajectory.scenarioId,
      reward: trajectory.totalReward,
      endReason: trajectory.endReason,
      messages: trajectory.messages,
    })),
  };
}

/**
 * The gain between two evaluations of the same scenarios, with the 95%
 * stratified paired bootstrap interval of the mean per-scenario difference
 * (`after_i - before_i`), or undefined when they did not evaluate the same
 * scenarios.
 *
 * @example
 * ```ts
 * evaluationGain(first.perScenario, last.perScenario, 1234); // { reward: 0.12, rewardInterval: [0.03, 0.2], ... }
 * ```
 */
export function evaluationGain(
  before: readonly ScenarioResult[],
  after: readonly ScenarioResult[],
  seed: number,
):
  | { reward: number; rewardInterval: Interval; successRate: number; successInterval: Interval }
  | undefined {
  if (before.length === 0 || before.length !== after.length) return undefined;
  for (const [index, entry] of before.entries()) {
    if (after[index]!.scenarioId !== entry.scenarioId) return undefined;
  }
  const strata = before.map((entry) => entry.category);
  const rewardDifferences = after.map((entry, index) => entry.reward - before[index]!.reward);
  const successDifferences = after.map((entry, index) => entry.success - before[index]!.success);
  return {
    reward: mean(rewardDifferences),
    rewardInterval: stratifiedBootstrapInterval({ values: rewardDifferences, strata, seed }),
    successRate: mean(successDifferences),
    successInterval: stratifiedBootstrapInterval({
      values: successDifferences,
      strata,
      seed: seed + 1,
    }),
  };
}
