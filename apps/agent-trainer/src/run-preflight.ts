import { type Scenario, ValidationError, type ValidationIssue } from '@cohort/core';
import { ConversationTokens, type GrpoTrainer } from '@cohort/trainer';
import type { AppConfig } from './app-config';
import type { TrainerParts } from './training-setup';

/** The context length of a policy's trainable model, when it has one (tfjs GPT or proxy delta). */
export function policyContextLength(policy: unknown): number | undefined {
  const shaped = policy as {
    model?: { config?: { contextLength?: unknown } };
    delta?: { gpt?: { config?: { contextLength?: unknown } } };
  };
  const length = shaped.model?.config?.contextLength ?? shaped.delta?.gpt?.config?.contextLength;
  return typeof length === 'number' ? length : undefined;
}

/** Opening prompts checked (the support set has 48; a user's module may have thousands). */
const maxScenariosChecked = 200;

/**
 * Checks, before anything is created, that the run can produce agent turns:
 * `maxSequenceLength` within the model's context, and room for a turn of
 * `maxNewTokens` (plus the template's closing ids) after the opening prompt
 * of at least one training scenario. Throws {@link ValidationError} naming
 * the field when no turn can ever happen; returns warnings when most
 * scenarios have no room (their episodes would end by length at once).
 *
 * @example
 * ```ts
 * const warnings = await checkRunFits({ config, trainer, parts });
 * ```
 */
export async function checkRunFits(options: {
  config: AppConfig;
  trainer: GrpoTrainer<Scenario>;
  parts: TrainerParts;
}): Promise<string[]> {
  const { config, trainer, parts } = options;
  const { maxSequenceLength } = config.trainer;
  const { maxNewTokens } = config.trainer.generation;
  const issues: ValidationIssue[] = [];
  const contextLength = policyContextLength(trainer.policy);
  if (contextLength !== undefined && maxSequenceLength > contextLength) {
    issues.push({
      path: 'trainer.maxSequenceLength',
      message: `must be at most the model's context length ${contextLength}, got ${maxSequenceLength}`,
    });
    throw new ValidationError({ what: 'config', issues });
  }
  const lengths: number[] = [];
  for (const [index, scenario] of parts.trainScenarios.slice(0, maxScenariosChecked).entries()) {
    const episode = await parts.environment.reset({
      scenario,
      seed: index,
      ...(trainer.systemPrompt === undefined ? {} : { systemPrompt: trainer.systemPrompt }),
    });
    const tokens = new ConversationTokens(trainer.policy.tokenizer, episode.messages);
    lengths.push(tokens.tokenIds.length + tokens.closingLength());
  }
  if (lengths.length === 0) return [];
  const shortest = Math.min(...lengths);
  if (shortest + maxNewTokens > maxSequenceLength) {
    throw new ValidationError({
      what: 'config',
      issues: [
        {
          path: 'trainer.generation.maxNewTokens',
          message: `leaves no room for an agent turn: the shortest opening prompt of the training scenarios takes ${shortest} of trainer.maxSequenceLength ${maxSequenceLength} tokens (with the template's closing ids), so at most ${Math.max(0, maxSequenceLength - shortest)} new tokens fit; got ${maxNewTokens}`,
        },
      ],
    });
  }
  const tooLong = lengths.filter((length) => length + maxNewTokens > maxSequenceLength).length;
  if (tooLong * 2 > lengths.length) {
    return [
      `${tooLong} of ${lengths.length} training scenarios have no room for a turn of maxNewTokens ${maxNewTokens} in maxSequenceLength ${maxSequenceLength}: their episodes end by length at once`,
    ];
  }
  return [];
}
