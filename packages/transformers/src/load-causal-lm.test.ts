import { rm } from 'node:fs/promises';
import path from 'node:path';
import { ValidationError } from '@cohort/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCausalLm } from './load-causal-lm';
import { ModelFilesError } from './model-files-error';
import { makeTinyModel, type TinyModel } from './test-support/tiny-model';

let tiny: TinyModel;
beforeAll(async () => {
  tiny = await makeTinyModel({ seed: 5 });
});
afterAll(async () => tiny?.cleanup());

describe('loadCausalLm', () => {
  it('loads the tokenizer with ids and chat template exactly as the exported tokenizer', async () => {
    const { tokenizer, model, source } = await loadCausalLm({ model: tiny.directory });
    expect(source).toBe(tiny.directory);
    expect(model.maxPositions).toBe(64);
    expect(tokenizer.vocabSize).toBe(tiny.tokenizer.vocabSize);
    expect(tokenizer.eosTokenId).toBe(tiny.tokenizer.eosTokenId);
    expect(tokenizer.padTokenId).toBe(tiny.tokenizer.padTokenId);
    expect(tokenizer.endOfTurnTokenId).toBe(tiny.tokenizer.endOfTurnTokenId);
    for (const text of ['hello there, how are you?', 'zebra quagga 123 ü€', '', '  spaces  ']) {
      expect(tokenizer.encode(text)).toEqual(tiny.tokenizer.encode(text));
      expect(tokenizer.decode(tokenizer.encode(text))).toBe(text);
    }
    const messages = [
      { role: 'system' as const, content: 'You help with orders.' },
      { role: 'user' as const, content: 'my order has not arrived' },
      { role: 'assistant' as const, content: 'I will refund it.' },
    ];
    for (const addGenerationPrompt of [true, false]) {
      expect(tokenizer.applyChatTemplate(messages, { addGenerationPrompt })).toEqual(
        tiny.tokenizer.applyChatTemplate(messages, { addGenerationPrompt }),
      );
    }
    // A shorter conversation renders as a prefix (the core Tokenizer guarantee).
    const full = tokenizer.applyChatTemplate(messages, { addGenerationPrompt: false });
    const prefix = tokenizer.applyChatTemplate(messages.slice(0, 2), {
      addGenerationPrompt: false,
    });
    expect(full.slice(0, prefix.length)).toEqual(prefix);
    const special = tokenizer.applyChatTemplate(messages.slice(0, 1), {
      addGenerationPrompt: false,
    });
    expect(tokenizer.decode(special, { skipSpecialTokens: true })).not.toContain('<|im_start|>');
    expect(tokenizer.decode(special)).toContain('<|im_start|>');
  });

  it('names the folder and the missing files, offline by default', async () => {
    const missing = path.join(path.dirname(tiny.directory), 'no-such-model');
    const error = await loadCausalLm({ model: missing }).catch((caught: unknown) => caught);
    expect(ModelFilesError.isInstance(error)).toBe(true);
    expect((error as ModelFilesError).directory).toBe(missing);
    expect((error as Error).message).toMatch(
      /no-such-model.*missing \(the folder itself\).*allowRemote/,
    );
    await rm(path.join(tiny.directory, 'onnx'), { recursive: true });
    await expect(loadCausalLm({ model: tiny.directory })).rejects.toThrow(
      /tiny-gpt2: missing onnx\/model\*\.onnx/,
    );
    await expect(loadCausalLm({ model: 'x', dtype: 'fp64' as 'fp32' })).rejects.toThrow(
      ValidationError,
    );
  });
});
