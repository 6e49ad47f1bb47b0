import type { Scenario } from '@cohort/core';
import { promptGenome } from '@cohort/evolution';
import { LlamaPolicy } from '@cohort/tfjs';
import {
  AdapterPopulation,
  type GrpoTrainer,
  type PopulationAdoptionSummary,
  type PopulationGenerationRecord,
} from '@cohort/trainer';
import { OnnxSampledPolicy } from '@cohort/transformers/onnx';
import type { AppConfig } from './app-config';
import { populationScheduleOptions } from './population-config';
import { supportPromptPhrases } from './prompt-phrases';
import type { TrainerParts } from './training-setup';

/**
 * The population of a run with a `population:` section, on the trainer's own
 * policy (one frozen base; with the ONNX sampler, members sample through it
 * too), reference, environment, training scenarios and rewards; each member
 * starts from the trainer's system prompt, and `prompts` mutates it with the
 * support-prompt phrases. With `engine.learnerWorkers` (or `learnerShards`)
 * every member's gradients are computed on the trainer's one learner, whose
 * replicas take the member's adapters at each step; members still take turns. Undefined for a run without a population.
 */
export async function createRunPopulation(options: {
  config: AppConfig;
  trainer: GrpoTrainer<Scenario>;
  parts: TrainerParts;
}): Promise<AdapterPopulation<Scenario> | undefined> {
  const { config, trainer, parts } = options;
  if (!config.population) return undefined;
  const schedule = populationScheduleOptions(config.population, config.trainer.seed);
  return AdapterPopulation.create<Scenario>({
    trainer: {
      policy: trainer.policy,
      ...(trainer.referenceModel ? { referenceModel: trainer.referenceModel } : {}),
      environment: parts.environment,
      trainScenarios: parts.trainScenarios,
      rewards: parts.rewards,
      // engine.learnerWorkers / learnerShards: every member's gradients on the run's one learner.
      ...(trainer.dataParallel ? { dataParallel: trainer.dataParallel } : {}),
    },
    config: config.trainer,
    ...(trainer.systemPrompt === undefined ? {} : { systemPrompt: trainer.systemPrompt }),
    population: schedule,
    ...(schedule.evolvePrompts
      ? { promptGenome: promptGenome({ phrases: supportPromptPhrases }) }
      : {}),
  });
}

/** What a population run does differently from what its config may suggest, said before it starts. */
export function populationWarnings(config: AppConfig, trainer: GrpoTrainer<Scenario>): string[] {
  if (!config.population) return [];
  const warnings: string[] = [];
  const policy =
    trainer.policy instanceof OnnxSampledPolicy ? trainer.policy.policy : trainer.policy;
  if (!(policy instanceof LlamaPolicy) || policy.model.lora === undefined) {
    warnings.push(
      `population: the policy has no LoRA adapters, so each of the ${config.population.members} members holds a full copy of the trained weights and their optimizer moments`,
    );
  }
  return warnings;
}

function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : String(value);
}

/** Hyperparameters as `name value` pairs, in 3 significant digits. */
export function formatHyperparameters(hyperparameters: Record<string, number>): string {
  return Object.entries(hyperparameters)
    .map(([name, value]) => `${name} ${Number(value.toPrecision(3))}`)
    .join(', ');
}

/** The progress line of one generation: every member's fitness with its interval, and what changed. */
export function populationGenerationLine(record: PopulationGenerationRecord): string {
  const members = record.members
    .map(
      (member) =>
        `${member.index}:${fixed(member.fitness.mean, 2)} [${fixed(member.fitness.lower, 2)}, ${fixed(member.fitness.upper, 2)}]`,
    )
    .join(' ');
  const changes = [
    ...record.exploits.map(
      (exploit) =>
        `member ${exploit.targetIndex} copied ${exploit.sourceId}${exploit.promptChanged ? ' (new prompt)' : ''}`,
    ),
    ...(record.injected ? [`learner injected at member ${record.injected.index}`] : []),
    ...(record.adopted ? [`learner adopted ${record.adopted.fromId}`] : []),
    ...(record.mutated.length > 0 ? [`${record.mutated.length} mutated`] : []),
  ];
  return `population generation ${record.generation} (episode ${record.episode}): fitness ${members}; ${changes.length > 0 ? changes.join(', ') : 'nothing adopted'}`;
}

/** The summary lines of what a population adopted and which member the run deployed. */
export function populationSummaryLines(summary: PopulationAdoptionSummary): string[] {
  const schedule = `${summary.mode}${summary.evolvePrompts ? ' + prompts' : ''}`;
  const adopted =
    summary.mode === 'pbt'
      ? `${summary.copies} copies of a better member (adapters, optimizer state, perturbed hyperparameters)`
      : `learner injected ${summary.injections} times, adopted an evolved member ${summary.adoptions} times, ${summary.mutations} mutations`;
  const { best } = summary;
  const fitness = best.fitness
    ? `, fitness ${fixed(best.fitness.mean, 3)} [${fixed(best.fitness.lower, 3)}, ${fixed(best.fitness.upper, 3)}]`
    : '';
  const lineage = best.lineage
    .map((entry) =>
      entry.fromId === undefined
        ? `${entry.origin} (generation ${entry.generation})`
        : `${entry.origin} of ${entry.fromId} (generation ${entry.generation})`,
    )
    .join(' -> ');
  return [
    `population (${schedule}, ${summary.size} members): ${summary.generations} generations, ${summary.fitnessEpisodes} fitness episodes; ${adopted}; ${summary.promptAdoptions} prompt adoptions`,
    `deployed member ${best.index} (${best.id}${fitness}): ${formatHyperparameters(best.hyperparameters)}; lineage ${lineage}`,
  ];
}
