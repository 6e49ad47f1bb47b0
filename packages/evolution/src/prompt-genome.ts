import { assertInRange, InvalidArgumentError, type Random } from '@cohort/core';
import type { GenomeKind } from './genome-kind';
import { crossoverPrompts, editPrompt, type PromptEditOptions } from './prompt-edits';
import { normalizedEditDistance, tokenJaccardDistance } from './prompt-text';

/** What an LLM rewriter is asked: an instruction and the texts it applies to. */
export interface RewriteRequest {
  instruction: string;
  /** One text for a mutation, two parents for a crossover. */
  texts: readonly string[];
  /** Seeded randomness for sampling (use it, not a global RNG, to stay reproducible). */
  random: Random;
}

/**
 * Rewrites text, normally with a language model (the transformers.js adapter
 * provides one from a local model). Returns the new prompt text.
 */
export type TextRewriter = (request: RewriteRequest) => Promise<string>;

/** Instruction for LLM mutation (after EvoPrompt's GA step 2, Guo et al. 2024). */
export const defaultMutationInstruction =
  'Rewrite the following system prompt so that it keeps its intent but is phrased differently. Answer with the new system prompt only.';

/** Instruction for LLM crossover (after EvoPrompt's GA step 1, Guo et al. 2024). */
export const defaultCrossoverInstruction =
  'Cross over the following two system prompts into one new system prompt that combines their instructions. Answer with the new system prompt only.';

/** Options of {@link promptGenome}. */
export interface PromptGenomeOptions extends PromptEditOptions {
  /** LLM rewriter for EvoPrompt-style mutation and crossover; rule-based only when absent. */
  rewrite?: TextRewriter;
  /** Probability that a mutation goes through `rewrite`. Default 0.5 with a rewriter, else 0. */
  llmMutationProbability?: number;
  /** Probability that a crossover goes through `rewrite`. Default 0.5 with a rewriter, else 0. */
  llmCrossoverProbability?: number;
  mutationInstruction?: string;
  crossoverInstruction?: string;
  /** Diversity metric: `'token-jaccard'` (default) or `'edit'` (normalized Levenshtein). */
  distance?: 'token-jaccard' | 'edit';
}

async function rewriteOrFallback(
  rewrite: TextRewriter,
  request: RewriteRequest,
  fallback: () => string,
): Promise<string> {
  const text = await rewrite(request);
  if (typeof text !== 'string') {
    throw new InvalidArgumentError({
      argument: 'rewrite(...) result',
      value: text,
      message: 'must be a string',
    });
  }
  const trimmed = text.trim();
  // An empty answer (a model that said nothing) is not a prompt: keep evolving by rules.
  return trimmed.length > 0 ? trimmed : fallback();
}

/**
 * The prompt genome: a system prompt as text. Mutation applies one rule-based
 * edit ({@link editPrompt}: insert/delete/replace a sentence from the user's
 * phrase bank, toggle emphasis, reorder), or, with probability
 * `llmMutationProbability`, asks `rewrite` to paraphrase it; crossover mixes
 * sentences ({@link crossoverPrompts}) or asks `rewrite` to combine both
 * parents (EvoPrompt, Guo et al. 2024, "Connecting Large Language Models with
 * Evolutionary Algorithms Yields Powerful Prompt Optimizers", GA variant). An
 * empty rewrite falls back to the rule-based operator. Distance: token Jaccard
 * or normalized edit distance.
 *
 * @example
 * ```ts
 * const kind = promptGenome({ phrases: ['Be concise.', 'Cite the policy.', 'Greet the user.'] });
 * const child = await kind.operators.mutate('You are a support agent.', new Random(0));
 * ```
 */
export function promptGenome(options: PromptGenomeOptions): GenomeKind<string> {
  if (!Array.isArray(options.phrases)) {
    throw new InvalidArgumentError({
      argument: 'phrases',
      value: options.phrases,
      message: 'must be an array of sentences',
    });
  }
  options.phrases.forEach((phrase, index) => {
    if (typeof phrase !== 'string' || phrase.trim().length === 0) {
      throw new InvalidArgumentError({
        argument: `phrases[${index}]`,
        value: phrase,
        message: 'must be a non-empty string',
      });
    }
  });
  const rewrite = options.rewrite;
  const defaultProbability = rewrite ? 0.5 : 0;
  const llmMutationProbability = options.llmMutationProbability ?? defaultProbability;
  const llmCrossoverProbability = options.llmCrossoverProbability ?? defaultProbability;
  assertInRange('llmMutationProbability', llmMutationProbability, 0, 1);
  assertInRange('llmCrossoverProbability', llmCrossoverProbability, 0, 1);
  if (!rewrite && (llmMutationProbability > 0 || llmCrossoverProbability > 0)) {
    throw new InvalidArgumentError({
      argument: 'rewrite',
      value: rewrite,
      message: 'is needed when an LLM mutation or crossover probability is above 0',
    });
  }
  const mutationInstruction = options.mutationInstruction ?? defaultMutationInstruction;
  const crossoverInstruction = options.crossoverInstruction ?? defaultCrossoverInstruction;
  const distanceName = options.distance ?? 'token-jaccard';
  if (distanceName !== 'token-jaccard' && distanceName !== 'edit') {
    throw new InvalidArgumentError({
      argument: 'distance',
      value: distanceName,
      message: "must be 'token-jaccard' or 'edit'",
    });
  }
  return {
    kind: 'prompt',
    validate: (name, value) => {
      if (typeof value !== 'string') {
        throw new InvalidArgumentError({ argument: name, value, message: 'must be a string' });
      }
    },
    operators: {
      mutate: (value, random) => {
        if (rewrite && random.bernoulli(llmMutationProbability)) {
          const fallbackRandom = random.fork('fallback');
          return rewriteOrFallback(
            rewrite,
            { instruction: mutationInstruction, texts: [value], random },
            () => editPrompt(value, options, fallbackRandom),
          );
        }
        return editPrompt(value, options, random);
      },
      crossover: (first, second, random) => {
        if (rewrite && random.bernoulli(llmCrossoverProbability)) {
          const fallbackRandom = random.fork('fallback');
          return rewriteOrFallback(
            rewrite,
            { instruction: crossoverInstruction, texts: [first, second], random },
            () => crossoverPrompts(first, second, fallbackRandom),
          );
        }
        return crossoverPrompts(first, second, random);
      },
      distance: distanceName === 'edit' ? normalizedEditDistance : tokenJaccardDistance,
    },
  };
}
