import type { Message } from '../message';
import type { ChatTemplateOptions, Tokenizer } from '../tokenizer';

const specialTokens = ['<|pad|>', '<|endoftext|>', '<|im_start|>', '<|im_end|>'] as const;

/**
 * A character-level tokenizer over printable ASCII with ChatML-style special
 * tokens, for tests that need a real, exact tokenizer without model files.
 * Ids: 0 pad, 1 end of text, 2 `<|im_start|>`, 3 `<|im_end|>`, then
 * characters 32..126 and `\n`. Other characters encode as `?`.
 */
export class MockTokenizer implements Tokenizer {
  readonly vocabSize = specialTokens.length + 96;
  readonly padTokenId = 0;
  readonly eosTokenId = 1;
  readonly endOfTurnTokenId = 3;
  /** Every text given to `encode`, in order. */
  readonly encodeCalls: string[] = [];

  encode(text: string): number[] {
    this.encodeCalls.push(text);
    return [...text].map((character) => this.characterId(character));
  }

  decode(tokenIds: readonly number[], options: { skipSpecialTokens?: boolean } = {}): string {
    return tokenIds
      .map((id) => {
        if (id < specialTokens.length) return options.skipSpecialTokens ? '' : specialTokens[id];
        const code = id - specialTokens.length;
        return code === 95 ? '\n' : String.fromCharCode(code + 32);
      })
      .join('');
  }

  applyChatTemplate(messages: readonly Message[], options: ChatTemplateOptions = {}): number[] {
    const ids: number[] = [];
    for (const message of messages) {
      ids.push(
        2,
        ...this.encodeQuietly(`${message.role}\n${message.content}`),
        3,
        this.characterId('\n'),
      );
    }
    if (options.addGenerationPrompt ?? true) ids.push(2, ...this.encodeQuietly('assistant\n'));
    return ids;
  }

  private encodeQuietly(text: string): number[] {
    return [...text].map((character) => this.characterId(character));
  }

  private characterId(character: string): number {
    if (character === '\n') return specialTokens.length + 95;
    const code = character.charCodeAt(0);
    return specialTokens.length + (code >= 32 && code <= 126 ? code - 32 : 31);
  }
}
