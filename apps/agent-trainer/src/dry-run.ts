import type { Scenario } from '@cohort/core';
import { scenarioCategory, stratifiedScenarios } from '@cohort/trainer';
import { type AppConfig, resolveAppConfig } from './app-config';

function flatten(value: unknown, prefix: string, into: Map<string, string>): void {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value);
    if (entries.length === 0) into.set(prefix, '{}');
    for (const [key, child] of entries) flatten(child, prefix ? `${prefix}.${key}` : key, into);
    return;
  }
  into.set(prefix, JSON.stringify(value));
}

/**
 * The settings of `config` that differ from its preset's default run (what a
 * config naming only the preset resolves to), one `path: value (default X)`
 * line each, in path order.
 *
 * @example
 * ```ts
 * configDifferences(resolveAppConfig({ trainer: { steps: 5 } })); // ['trainer.steps: 5 (default 100)']
 * ```
 */
export function configDifferences(config: AppConfig): string[] {
  const base = new Map<string, string>();
  const mine = new Map<string, string>();
  flatten(resolveAppConfig({ preset: config.preset }), '', base);
  flatten(config, '', mine);
  const lines: string[] = [];
  for (const key of [...new Set([...base.keys(), ...mine.keys()])].sort()) {
    const before = base.get(key);
    const after = mine.get(key);
    if (before === after) continue;
    lines.push(`${key}: ${after ?? '(unset)'} (default ${before ?? 'unset'})`);
  }
  return lines;
}

/**
 * What one step and one evaluation of the run do, in numbers: episodes per
 * step (scenarios x group size), the most tokens they can hold and sample,
 * minibatches and optimizer updates, and the held-out scenarios per category.
 *
 * @example
 * ```ts
 * batchArithmetic(config, evalScenarios)[0]; // 'per step: 2 scenarios x 4 episodes (group size) = 8 episodes'
 * ```
 */
export function batchArithmetic(config: AppConfig, evalScenarios: readonly Scenario[]): string[] {
  const t = config.trainer;
  const episodes = t.scenariosPerStep * t.groupSize;
  const minibatches = Math.ceil(episodes / t.minibatchSize);
  const updates = Math.ceil((minibatches * t.epochs) / t.gradientAccumulationSteps);
  const chosen = stratifiedScenarios(evalScenarios, t.evaluation.maxScenarios);
  const perCategory = new Map<string, number>();
  for (const scenario of chosen) {
    const category = scenarioCategory(scenario);
    perCategory.set(category, (perCategory.get(category) ?? 0) + 1);
  }
  const categories = [...perCategory].map(([name, count]) => `${name} ${count}`).join(', ');
  return [
    `per step: ${t.scenariosPerStep} scenarios x ${t.groupSize} episodes (group size) = ${episodes} episodes`,
    `tokens per step: at most ${episodes} x ${t.maxSequenceLength} (maxSequenceLength) = ${episodes * t.maxSequenceLength} in context, of which the policy samples at most ${t.generation.maxNewTokens} per agent turn`,
    `updates per step: ${minibatches} minibatch${minibatches === 1 ? '' : 'es'} of up to ${t.minibatchSize} x ${t.epochs} epoch${t.epochs === 1 ? '' : 's'} / ${t.gradientAccumulationSteps} accumulated = ${updates} optimizer step${updates === 1 ? '' : 's'}`,
    `run: ${t.steps} steps = ${t.steps * episodes} training episodes`,
    chosen.length === 0
      ? 'evaluation: none (no held-out scenarios)'
      : `evaluation: ${chosen.length} of ${evalScenarios.length} held-out scenarios (${categories}) x ${t.evaluation.episodesPerScenario} episode${t.evaluation.episodesPerScenario === 1 ? '' : 's'}, ${t.evaluation.everySteps > 0 ? `every ${t.evaluation.everySteps} steps and ` : ''}before and after training`,
    ...populationArithmetic(config),
  ];
}

/** A population's share of the arithmetic: members, generations, and the fitness episodes beside the training episodes. */
function populationArithmetic(config: AppConfig): string[] {
  const population = config.population;
  if (!population) return [];
  const t = config.trainer;
  const generations = Math.floor(
    (t.steps * t.scenariosPerStep * t.groupSize) / population.everyEpisodes,
  );
  // Fitness is measured on at most fitnessScenarios training scenarios, evaluation.episodesPerScenario each.
  const perMember = population.fitnessScenarios * t.evaluation.episodesPerScenario;
  return [
    `population: ${population.members} members (${population.schedule.join(' + ')}) share the ${t.steps} steps; a generation every ${population.everyEpisodes} training episodes = ${generations} generations, each at most ${population.members} x ${perMember} fitness episodes (${generations * population.members * perMember} in all, beside the training episodes)`,
  ];
}
