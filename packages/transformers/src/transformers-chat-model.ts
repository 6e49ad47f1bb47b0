import { type ChatCompletionRequest, type ChatModel, InvalidArgumentError } from '@cohort/core';
import type { TransformersSampler } from './transformers-sampler';

/**
 * A {@link ChatModel} run locally by transformers.js: the conversation is
 * rendered with the model's chat template and the answer sampled with the
 * request's seed, temperature and token limit, so any transformers.js chat
 * model can be a judge (see `createJudgeRanker` of `@cohort/environments`).
 * A prompt that leaves no room for the answer in the model's context rejects
 * with the lengths; an aborted signal rejects before sampling starts (a
 * running generation finishes, its answer is dropped by the caller).
 *
 * @example
 * ```ts
 * const judge = new TransformersChatModel({ sampler: new TransformersSampler({ model, tokenizer }) });
 * const ranker = createJudgeRanker({ model: judge, timeoutMs: 30_000 });
 * ```
 */
export class TransformersChatModel implements ChatModel {
  readonly name: string;
  readonly sampler: TransformersSampler;

  constructor(options: { sampler: TransformersSampler; name?: string }) {
    this.sampler = options.sampler;
    this.name = options.name ?? 'transformers';
  }

  async complete(request: ChatCompletionRequest): Promise<string> {
    request.signal.throwIfAborted();
    const prompt = this.sampler.tokenizer.applyChatTemplate(request.messages, {
      addGenerationPrompt: true,
    });
    const limit = this.sampler.model.maxPositions;
    if (limit !== undefined && prompt.length + request.maxTokens > limit) {
      throw new InvalidArgumentError({
        argument: 'messages',
        value: prompt.length,
        message: `the prompt has ${prompt.length} tokens; with maxTokens ${request.maxTokens} it exceeds the model's context of ${limit}`,
      });
    }
    const [text] = await this.sampler.generateTexts({
      prompt,
      n: 1,
      seed: request.seed,
      maxNewTokens: request.maxTokens,
      temperature: request.temperature,
    });
    return text ?? '';
  }
}
