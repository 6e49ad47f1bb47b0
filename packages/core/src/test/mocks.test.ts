import { describe, expect, it } from 'vitest';
import { MockPolicy, MockTokenizer } from './index';

describe('MockTokenizer', () => {
  it('round-trips text and keeps the chat-template prefix property', () => {
    const tokenizer = new MockTokenizer();
    expect(tokenizer.decode(tokenizer.encode('Hello, world!\n'))).toBe('Hello, world!\n');
    const messages = [
      { role: 'system' as const, content: 'Be brief.' },
      { role: 'user' as const, content: 'Hi' },
      { role: 'assistant' as const, content: 'Hello' },
    ];
    const full = tokenizer.applyChatTemplate(messages, { addGenerationPrompt: false });
    const prefix = tokenizer.applyChatTemplate(messages.slice(0, 2), {
      addGenerationPrompt: false,
    });
    expect(full.slice(0, prefix.length)).toEqual(prefix);
    expect(tokenizer.decode(full)).toBe(
      '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello<|im_end|>\n',
    );
  });
});

describe('MockPolicy', () => {
  const tokenizer = new MockTokenizer();
  const logits = Array.from({ length: tokenizer.vocabSize }, (_, id) =>
    id === 1 ? 2 : id === 40 ? 1 : -2,
  );

  it('samples reproducibly, reports matching log-probs, and records calls', async () => {
    const policy = new MockPolicy({ logits });
    const request = {
      prompts: [
        [2, 5],
        [2, 6],
      ],
      groupSize: 3,
      maxNewTokens: 5,
      seed: 11,
    };
    const first = await policy.sample(request);
    const second = await policy.sample(request);
    expect(first).toEqual(second);
    expect(first).toHaveLength(6);
    expect(policy.sampleCalls).toHaveLength(2);
    const completion = first[0]!;
    const { logProbs } = policy.tokenLogProbs({ sequences: [[2, 5, ...completion.tokenIds]] });
    expect(logProbs[0]!.slice(2)).toEqual(completion.logProbsPerToken);
    for (const sampled of first) {
      expect(sampled.finishReason === 'eos').toBe(sampled.tokenIds.at(-1) === 1);
    }
  });

  it('refuses logits of the wrong size', () => {
    expect(() => new MockPolicy({ logits: [0, 1] })).toThrowError(/logits = 2/);
  });
});
