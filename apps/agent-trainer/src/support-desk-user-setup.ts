import path from 'node:path';
import type { ChatModel } from '@cohort/core';
import {
  createOpenAiCompatibleChatModel,
  createSupportDeskLlmUser,
  type SupportDeskLlmUser,
  type SupportDeskUserCounts,
} from '@cohort/environments';
import type { SupportDeskUserConfig } from './app-config';
import { UsageError } from './exit-codes';

/** The support desk's customer as a run builds it: the LLM customer, if any, and one line that says which. */
export interface SupportDeskUserSetup {
  /** The LLM customer (absent for the scripted one). */
  user?: SupportDeskLlmUser;
  /** What `--dry-run` and the summary say about the customer. */
  description: string;
}

/**
 * Builds the customer of `environment.user`: nothing for `scripted`; for
 * `llm`, a {@link SupportDeskLlmUser} over a local transformers.js model
 * (its folder loaded here, so a missing one is refused before any work) or
 * an OpenAI-compatible endpoint (its key read from `apiKeyEnv`, which must
 * be set). Answers are cached where the model's answer is a function of the
 * prompt and seed: always for the seeded local model, at temperature 0 for
 * an endpoint.
 *
 * @example
 * ```ts
 * const { user, description } = await createSupportDeskUserSetup({ type: 'llm', endpoint: { baseUrl, model: 'm' }, temperature: 0, maxTokens: 64, timeoutMs: 30_000, maxCharacters: 400, historyMessages: 8 });
 * ```
 */
export async function createSupportDeskUserSetup(
  config: SupportDeskUserConfig,
  environment: NodeJS.ProcessEnv = process.env,
): Promise<SupportDeskUserSetup> {
  if (config.type === 'scripted') {
    return { description: 'customer: scripted (tells what the agent asks for)' };
  }
  let model: ChatModel;
  let cached: boolean;
  let source: string;
  if (config.model !== undefined) {
    const directory = path.resolve(config.model);
    // Imported here, for a local customer model only: @cohort/transformers' index loads transformers.js.
    const { loadCausalLm, ModelFilesError, TransformersChatModel, TransformersSampler } =
      await import('@cohort/transformers');
    let loaded: Awaited<ReturnType<typeof loadCausalLm>>;
    try {
      loaded = await loadCausalLm({ model: directory });
    } catch (error) {
      if (ModelFilesError.isInstance(error)) {
        throw new UsageError(
          `environment.user.model ${JSON.stringify(config.model)}: ${error.message}`,
          { cause: error },
        );
      }
      throw error;
    }
    const sampler = new TransformersSampler({
      model: loaded.model,
      tokenizer: loaded.tokenizer,
      batchSize: 1,
    });
    model = new TransformersChatModel({ sampler, name: `local:${directory}` });
    cached = true;
    source = `local model ${config.model}`;
  } else {
    const endpoint = config.endpoint!;
    const keyName = endpoint.apiKeyEnv;
    const apiKey = keyName === undefined ? undefined : environment[keyName];
    if (keyName !== undefined && !apiKey) {
      throw new UsageError(
        `environment.user.endpoint.apiKeyEnv ${JSON.stringify(keyName)}: the environment variable ${keyName} is not set`,
      );
    }
    model = createOpenAiCompatibleChatModel({
      baseUrl: endpoint.baseUrl,
      model: endpoint.model,
      ...(apiKey ? { apiKey } : {}),
    });
    cached = config.temperature === 0;
    source = `endpoint ${endpoint.baseUrl} model ${endpoint.model}${keyName ? ` (key from $${keyName})` : ''}`;
  }
  const user = createSupportDeskLlmUser({
    model,
    temperature: config.temperature,
    maxTokens: config.maxTokens,
    timeoutMs: config.timeoutMs,
    maxCharacters: config.maxCharacters,
    historyMessages: config.historyMessages,
    cache: cached ? new Map() : null,
  });
  return {
    user,
    description: `customer: LLM, ${source}, temperature ${config.temperature}, maxTokens ${config.maxTokens}, timeoutMs ${config.timeoutMs}, answers ${cached ? 'cached' : 'not cached'}; a bad answer falls back to the scripted customer`,
  };
}

/** The summary lines of an LLM customer's counts (none when it was never asked). */
export function supportDeskUserSummaryLines(counts: SupportDeskUserCounts): string[] {
  const reasons = Object.entries(counts.fallbacksByReason)
    .filter(([, count]) => count > 0)
    .map(([reason, count]) => `${reason} ${count}`)
    .join(', ');
  return [
    `LLM customer: ${counts.calls} answers (${counts.cached} cached), ${counts.replies} passed on, ${counts.stops} ended the conversation, ${counts.fallbacks} fell back to the scripted customer${reasons ? ` (${reasons})` : ''}, ${counts.fallbacksByReason.timeout} timed out, ${counts.gaveUp} gave up by patience`,
  ];
}
