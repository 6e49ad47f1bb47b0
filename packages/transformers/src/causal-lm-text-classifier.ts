import { InvalidArgumentError, type Tokenizer } from '@cohort/core';
import type { CausalLm } from './causal-lm';
import type {
  ClassificationScore,
  TextClassificationPipelineLike,
} from './text-classification-reward';
import { TransformersReferenceModel } from './transformers-reference-model';

/** Options of {@link causalLmTextClassifier}. */
export interface CausalLmTextClassifierOptions {
  model: CausalLm;
  tokenizer: Tokenizer;
  /** Label -> the words that express it after the prompt (a verbalizer), for example `{ POSITIVE: ' yes' }`. */
  labels: Record<string, string>;
  /** Turns a text into the prompt that the verbalizers continue. */
  template?: (text: string) => string;
}

/**
 * A zero-shot text classifier from a causal LM, with the signature of a
 * transformers.js `text-classification` pipeline: for prompt `x` and label
 * words `w_l`, `score_l = softmax_l(log p(w_l | x))` where
 * `log p(w | x) = sum_i log p(w_i | x, w_<i)` (the verbalizer scoring of
 * Schick and Schütze 2021, without fine-tuning). Scores come sorted best first.
 *
 * @example
 * ```ts
 * const classify = causalLmTextClassifier({ model, tokenizer, labels: { polite: ' yes', rude: ' no' }, template: (text) => `${text}\nIs this polite?` });
 * const reward = await textClassificationReward({ pipeline: classify, label: 'polite' });
 * ```
 */
export function causalLmTextClassifier(
  options: CausalLmTextClassifierOptions,
): TextClassificationPipelineLike {
  const entries = Object.entries(options.labels);
  if (entries.length < 2) {
    throw new InvalidArgumentError({
      argument: 'labels',
      value: options.labels,
      message: 'must name at least two labels',
    });
  }
  const verbalizers = entries.map(([label, words]) => {
    const ids = options.tokenizer.encode(words);
    if (ids.length === 0) {
      throw new InvalidArgumentError({
        argument: `labels.${label}`,
        value: words,
        message: 'must encode to at least one token',
      });
    }
    return { label, ids };
  });
  const template = options.template ?? ((text: string) => text);
  const reference = new TransformersReferenceModel({
    model: options.model,
    padTokenId: options.tokenizer.padTokenId,
  });
  return async (texts) => {
    const results: ClassificationScore[][] = [];
    for (const [index, text] of texts.entries()) {
      const prompt = options.tokenizer.encode(template(text));
      if (prompt.length === 0) {
        throw new InvalidArgumentError({
          argument: `texts[${index}]`,
          value: text,
          message: 'with the template, must encode to at least one token',
        });
      }
      const sequences = verbalizers.map(({ ids }) => [...prompt, ...ids]);
      const logProbs = await reference.referenceLogProbs({ sequences });
      const totals = logProbs.map((row) =>
        row.slice(prompt.length).reduce((sum, value) => sum + value, 0),
      );
      const top = Math.max(...totals);
      const weights = totals.map((total) => Math.exp(total - top));
      const sum = weights.reduce((total, value) => total + value, 0);
      results.push(
        verbalizers
          .map(({ label }, index) => ({ label, score: (weights[index] as number) / sum }))
          .sort((a, b) => b.score - a.score),
      );
    }
    return results;
  };
}
