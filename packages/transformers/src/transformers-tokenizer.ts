import { InvalidArgumentError, type Message, type Tokenizer } from '@cohort/core';
import type { PreTrainedTokenizer } from '@huggingface/transformers';

/** Special tokens that close a chat turn in common templates (ChatML, Llama 3, Gemma, Phi-3). */
const endOfTurnCandidates = ['<|im_end|>', '<|eot_id|>', '<end_of_turn>', '<|end|>'];

/** Options of {@link TransformersTokenizer}. */
export interface TransformersTokenizerOptions {
  /** Id that closes a chat turn; found from common templates' tokens when omitted. */
  endOfTurnTokenId?: number;
  /** Padding id when the tokenizer has none; default: the pad id, else the EOS id. */
  padTokenId?: number;
}

/**
 * The core {@link Tokenizer} over a transformers.js tokenizer: ids are exactly
 * the transformers.js ids (no special tokens added by `encode`), and
 * `applyChatTemplate` renders the tokenizer's own Jinja chat template.
 *
 * `vocabSize` is `max id + 1` over the vocabulary and added tokens.
 *
 * @example
 * ```ts
 * const tokenizer = new TransformersTokenizer(await AutoTokenizer.from_pretrained('tiny-chat'));
 * const ids = tokenizer.applyChatTemplate([{ role: 'user', content: 'hi' }], { addGenerationPrompt: true });
 * ```
 */
export class TransformersTokenizer implements Tokenizer {
  readonly tokenizer: PreTrainedTokenizer;
  readonly vocabSize: number;
  readonly eosTokenId: number;
  readonly padTokenId: number;
  readonly endOfTurnTokenId?: number;

  constructor(tokenizer: PreTrainedTokenizer, options: TransformersTokenizerOptions = {}) {
    this.tokenizer = tokenizer;
    const vocabulary = tokenizer.get_vocab() as Map<string, number> | Record<string, number>;
    const entries: [string, number][] =
      vocabulary instanceof Map ? [...vocabulary.entries()] : Object.entries(vocabulary);
    let largest = -1;
    for (const [, id] of entries) largest = Math.max(largest, id);
    this.vocabSize = largest + 1;
    const eos = tokenizer.eos_token_id;
    if (typeof eos !== 'number') {
      throw new InvalidArgumentError({
        argument: 'tokenizer.eos_token_id',
        value: eos,
        message:
          'the tokenizer has no end-of-sequence token; set eos_token in tokenizer_config.json',
      });
    }
    this.eosTokenId = eos;
    this.padTokenId =
      options.padTokenId ??
      (typeof tokenizer.pad_token_id === 'number' ? tokenizer.pad_token_id : eos);
    const byText = new Map(entries);
    const endOfTurn =
      options.endOfTurnTokenId ??
      endOfTurnCandidates.map((text) => byText.get(text)).find((id) => id !== undefined);
    if (endOfTurn !== undefined) this.endOfTurnTokenId = endOfTurn;
  }

  encode(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: false });
  }

  decode(tokenIds: readonly number[], options: { skipSpecialTokens?: boolean } = {}): string {
    // transformers.js refuses an empty array; nothing decodes to nothing.
    if (tokenIds.length === 0) return '';
    return this.tokenizer.decode([...tokenIds], {
      skip_special_tokens: options.skipSpecialTokens ?? false,
    });
  }

  applyChatTemplate(
    messages: readonly Message[],
    options: { addGenerationPrompt?: boolean } = {},
  ): number[] {
    const ids = this.tokenizer.apply_chat_template(
      messages.map((message) => ({ role: message.role, content: message.content })),
      {
        add_generation_prompt: options.addGenerationPrompt ?? true,
        tokenize: true,
        return_tensor: false,
        return_dict: false,
      },
    ) as unknown as number[];
    return [...ids];
  }
}
