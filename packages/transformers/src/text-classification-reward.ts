import { InvalidArgumentError, type RewardContext, type RewardFunction } from '@cohort/core';
import { type LoadPipelineOptions, loadPipeline } from './load-pipeline';

/** One label and its probability, as a transformers.js `text-classification` pipeline returns it. */
export interface ClassificationScore {
  label: string;
  score: number;
}

/**
 * The call signature of a transformers.js `text-classification` pipeline with
 * `top_k: null` (every label): one list of scores per text (or, for a single
 * text, the list itself).
 */
export type TextClassificationPipelineLike = (
  texts: string[],
  options: { top_k: number | null },
) => Promise<ClassificationScore[] | ClassificationScore[][]>;

/** Options of {@link textClassificationReward}. */
export interface TextClassificationRewardOptions {
  /** A loaded pipeline (or any function with its signature); or give `model`. */
  pipeline?: TextClassificationPipelineLike;
  /** A model folder (or hub id) to load a `text-classification` pipeline from. */
  model?: LoadPipelineOptions;
  /** The label whose probability is the reward (for example `POSITIVE`). */
  label: string;
  /** Multiplies the probability; negative to penalize the label. Default 1. */
  weight?: number;
  /** What is classified: the scored agent turn (default), all agent turns, or the whole conversation. */
  input?: 'completion' | 'agent-messages' | 'conversation';
  scope?: 'turn' | 'episode';
  name?: string;
}

function textOf(context: RewardContext, input: TextClassificationRewardOptions['input']): string {
  if (input === 'agent-messages') {
    return context.messages
      .filter((message) => message.role === 'assistant')
      .map((message) => message.content)
      .join('\n');
  }
  if (input === 'conversation') {
    return context.messages.map((message) => `${message.role}: ${message.content}`).join('\n');
  }
  return context.completion;
}

/**
 * A core `RewardFunction` from a transformers.js `text-classification`
 * pipeline: `reward = weight * P(label | text)`, the classifier's probability
 * of the chosen label for the agent's turn (or its messages, or the whole
 * conversation). An unknown label throws, listing the labels the classifier has.
 *
 * @example
 * ```ts
 * const polite = await textClassificationReward({ model: { model: 'models/politeness' }, label: 'polite', weight: 0.5 });
 * const score = await polite.score(context); // in [0, 0.5]
 * ```
 */
export async function textClassificationReward(
  options: TextClassificationRewardOptions,
): Promise<RewardFunction> {
  const weight = options.weight ?? 1;
  if (!Number.isFinite(weight)) {
    throw new InvalidArgumentError({
      argument: 'weight',
      value: weight,
      message: 'must be finite',
    });
  }
  if (typeof options.label !== 'string' || options.label.length === 0) {
    throw new InvalidArgumentError({
      argument: 'label',
      value: options.label,
      message: 'must be a non-empty string',
    });
  }
  let classify = options.pipeline;
  if (classify === undefined) {
    if (options.model === undefined) {
      throw new InvalidArgumentError({
        argument: 'pipeline',
        value: undefined,
        message: 'give a text-classification pipeline or a model to load one from',
      });
    }
    classify = (await loadPipeline(
      'text-classification',
      options.model,
    )) as TextClassificationPipelineLike;
  }
  const pipelineFunction = classify;
  return {
    name: options.name ?? `text-classification:${options.label}`,
    scope: options.scope ?? 'episode',
    async score(context: RewardContext): Promise<number> {
      const output = await pipelineFunction([textOf(context, options.input)], { top_k: null });
      const scores = (Array.isArray(output[0]) ? output[0] : output) as ClassificationScore[];
      const match = scores.find((entry) => entry.label === options.label);
      if (match === undefined) {
        throw new InvalidArgumentError({
          argument: 'label',
          value: options.label,
          message: `is not a label of the classifier (labels: ${scores.map((entry) => entry.label).join(', ')})`,
        });
      }
      if (!Number.isFinite(match.score)) {
        throw new InvalidArgumentError({
          argument: `classifier score of ${options.label}`,
          value: match.score,
          message: 'must be finite',
        });
      }
      return weight * match.score;
    },
  };
}
