import type { ConsoleChat } from '@cohort/console';
import type { Message } from '@cohort/core';
import { defaultSupportSystemPrompt } from '@cohort/environments';
import { initializeBackend } from '@cohort/tfjs';
import type { ChatModel } from './chat-model';
import { replyTo } from './chat-reply';
import { loadModelSource } from './commands/model-source';

/**
 * The console's chat with a run's checkpoints: the run's base model with the
 * checkpoint's weights and system prompt (as `agent-trainer chat --run-dir`
 * loads them), greedy by default so a checkpoint answers the same messages
 * the same way. The last model loaded is kept (one at a time, to bound
 * memory); requests run one after another.
 *
 * @example
 * ```ts
 * const server = await createConsoleServer({ runDirectories: ['runs'], chat: createConsoleChat({ maxNewTokens: 64 }) });
 * ```
 */
export function createConsoleChat(options: {
  maxNewTokens: number;
  temperature?: number;
}): ConsoleChat & { dispose(): void } {
  let loaded: { key: string; source: ChatModel & { systemPrompt?: string } } | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  const load = async (runDirectory: string, checkpoint: string | null) => {
    const key = `${runDirectory}\n${checkpoint ?? ''}`;
    if (loaded?.key === key) return loaded.source;
    loaded?.source.dispose();
    loaded = undefined;
    await initializeBackend({ logger: false });
    const source = await loadModelSource({ runDirectory, checkpoint });
    loaded = { key, source };
    return source;
  };
  return {
    reply(request) {
      const answer = queue.then(async () => {
        const source = await load(request.runDirectory, request.checkpoint);
        const systemPrompt = source.systemPrompt ?? defaultSupportSystemPrompt;
        const messages: Message[] = [
          { role: 'system', content: systemPrompt },
          ...request.messages,
        ];
        const reply = await replyTo({
          model: source,
          messages,
          maxNewTokens: options.maxNewTokens,
          temperature: options.temperature ?? 0,
          seed: 0,
        });
        return { reply, systemPrompt };
      });
      queue = answer.catch(() => undefined);
      return answer;
    },
    dispose() {
      loaded?.source.dispose();
      loaded = undefined;
    },
  };
}
