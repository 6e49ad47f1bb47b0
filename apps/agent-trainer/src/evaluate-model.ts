import type { Environment, Message, RewardFunction, Scenario } from '@cohort/core';
import { ConversationEnvironment, goalCompletionReward } from '@cohort/environments';
import type { BpeTokenizer, CausalLanguageModel } from '@cohort/tfjs';
import { generate } from '@cohort/tfjs';

/** One evaluated conversation. */
export interface EvaluatedConversation {
  scenarioId: string;
  reward: number;
  endReason: string;
  messages: Message[];
  /** The `info` of the episode's last step (a tool environment's check, for example `supportDesk`). */
  info?: Record<string, unknown>;
}

/** Options of {@link evaluateModel}. */
export interface EvaluateModelOptions {
  model: CausalLanguageModel;
  tokenizer: BpeTokenizer;
  scenarios: readonly Scenario[];
  seed: number;
  /** 0: greedy (default). */
  temperature?: number;
  maxNewTokens?: number;
  environment?: Environment<Scenario>;
  /** `'environment'`: the sum of the environment's step rewards (a tool environment scores its own episodes). */
  reward?: RewardFunction<Scenario> | 'environment';
  systemPrompt?: string;
}

/**
 * Runs one conversation per scenario between a tfjs chat model (GPT-2 or
 * Llama family) and the environment's scripted user, and scores it with goal
 * completion (the fraction of the scenario's success criteria met) or with
 * the environment's own rewards. A turn that would overflow the context ends
 * the episode with `length`.
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
    let environmentReward = 0;
    let info: Record<string, unknown> | undefined;
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
      environmentReward += result.reward;
      if (result.info) info = result.info;
      if (result.done) {
        endReason = result.endReason ?? 'turn-limit';
        break;
      }
    }
    const messages = episode.messages.map((message) => ({ ...message }));
    if (reward === 'environment') {
      results.push({
        scenarioId: scenario.id,
        reward: environmentReward,
        endReason,
        messages,
        ...(info ? { info } : {}),
      });
      continue;
    }
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
