import { assertInteger, InvalidArgumentError, type Message } from '@cohort/core';
import type { TextRewriter } from '@cohort/evolution';
import type { TransformersSampler } from './transformers-sampler';

/** Options of {@link llmTextRewriter}. */
export interface LlmTextRewriterOptions {
  sampler: TransformersSampler;
  /** Most tokens of a rewritten text. Default 96. */
  maxNewTokens?: number;
  /** Default 0.9 (EvoPrompt samples its offspring). */
  temperature?: number;
  topK?: number;
  /** System prompt of the rewriting model. */
  systemPrompt?: string;
}

/**
 * The `TextRewriter` of `@cohort/evolution` over a local causal LM, for
 * EvoPrompt-style mutation and crossover of prompts (Guo et al. 2024): the
 * model gets the instruction and the numbered texts as one user turn of its
 * chat template and its sampled answer, trimmed, is the new text. The
 * sampling seed is drawn from `request.random`, so the same random state
 * gives the same text. An empty answer is returned as `''` (the evolution
 * package then falls back to a rule-based edit).
 *
 * @example
 * ```ts
 * const rewrite = llmTextRewriter({ sampler: new TransformersSampler({ model, tokenizer }) });
 * const genome = promptGenome({ rewrite, llmMutationProbability: 0.5 });
 * ```
 */
export function llmTextRewriter(options: LlmTextRewriterOptions): TextRewriter {
  const maxNewTokens = options.maxNewTokens ?? 96;
  assertInteger('maxNewTokens', maxNewTokens, 1);
  const temperature = options.temperature ?? 0.9;
  const systemPrompt =
    options.systemPrompt ?? 'You improve instructions for a customer-support assistant.';
  return async (request) => {
    if (request.texts.length === 0) {
      throw new InvalidArgumentError({
        argument: 'texts',
        value: request.texts,
        message: 'must hold at least one text to rewrite',
      });
    }
    const body =
      request.texts.length === 1
        ? `${request.instruction}\n\n${request.texts[0]}`
        : `${request.instruction}\n\n${request.texts.map((text, index) => `Prompt ${index + 1}:\n${text}`).join('\n\n')}`;
    const messages: Message[] = [
      { role: 'system', content: systemPrompt },
      { role: 'user', content: body },
    ];
    const prompt = options.sampler.tokenizer.applyChatTemplate(messages, {
      addGenerationPrompt: true,
    });
    const [text] = await options.sampler.generateTexts({
      prompt,
      n: 1,
      seed: request.random.seed(),
      maxNewTokens,
      temperature,
      ...(options.topK === undefined ? {} : { topK: options.topK }),
    });
    return (text ?? '').trim();
  };
}
