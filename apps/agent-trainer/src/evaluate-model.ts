import type { Environment, Message, RewardFunction, Scenario } from '@cohort/core';
import { ConversationEnvironment, goalCompletionReward } from '@cohort/environments';
import type { BpeTokenizer } from '@cohort/tfjs';
import { type GptModel, generate } from '@cohort/tfjs';

/** One evaluated conversation. */
export interface EvaluatedConversation {
  scenarioId: string;
  reward: number;
  endReason: string;
  messages: Message[];
}

/** Options of {@link evaluateModel}. */
export interface EvaluateModelOptions {
  model: GptModel;
  tokenizer: BpeTokenizer;
  scenarios: readonly Scenario[];
  seed: number;
  /** 0: greedy (default). */
  temperature?: number;
  maxNewTokens?: number;
  environment?: Environment<Scenario>;
  reward?: RewardFunction<Scenario>;
  systemPrompt?: string;
}

/**
 * Runs one conversation per scenario between a tfjs chat model and the
 * scripted user, and scores it with goal completion (the fraction of the
 * scenario's success criteria met). A turn that would overflow the context
 * ends the episode with `length`.
 *
 * @example
 * ```ts
 * const results = await evaluateModel({ model, tokenizer, scenarios: supportScenarios({ split: 'eval' }), seed: 1 });
 * ```
 */
export async function evaluateModel(
  options: EvaluateModelOptions,
): Promise<EvaluatedConversation[]> {
  const environment = options.environment ?? new ConversationEnvironment();
  const reward = options.reward ?? goalCompletionReward();
  const maxNewTokens = options.maxNewTokens ?? 48;
  const stop = options.tokenizer.endOfTurnTokenId;
  const results: EvaluatedConversation[] = [];
  for (const [index, scenario] of options.scenarios.entries()) {
    const episode = await environment.reset({
      scenario,
      seed: options.seed + index,
      ...(options.systemPrompt ? { systemPrompt: options.systemPrompt } : {}),
    });
    let endReason = 'turn-limit';
    for (let turn = 0; turn < 50; turn++) {
      const prompt = options.tokenizer.applyChatTemplate(episode.messages, {
        addGenerationPrompt: true,
      });
      if (prompt.length + 1 >= options.model.config.contextLength) {
        endReason = 'length';
        break;
      }
      const [sequence] = await generate(options.model, {
        prompts: [prompt],
        maxNewTokens: Math.min(maxNewTokens, options.model.config.contextLength - prompt.length),
        temperature: options.temperature ?? 0,
        stopTokenIds: [stop],
        eosTokenId: options.tokenizer.eosTokenId,
        padTokenId: options.tokenizer.padTokenId,
        seed: options.seed * 1009 + index * 31 + turn,
      });
      const text = options.tokenizer.decode(sequence!.tokenIds, { skipSpecialTokens: true }).trim();
      const result = await episode.step(text);
      if (result.done) {
        endReason = result.endReason ?? 'turn-limit';
        break;
      }
    }
    const messages = episode.messages.map((message) => ({ ...message }));
    const last = [...messages].reverse().find((message) => message.role === 'assistant');
    const score = await reward.score({
      scenario,
      messages,
      completion: last?.content ?? '',
      turnIndex: messages.filter((message) => message.role === 'assistant').length - 1,
      done: true,
      completionTokenCount: 0,
    });
    results.push({ scenarioId: scenario.id, reward: score ?? 0, endReason, messages });
  }
  return results;
}
