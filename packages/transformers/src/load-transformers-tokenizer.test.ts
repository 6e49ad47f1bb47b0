import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { initializeBackend } from '@cohort/tfjs';
import { writeTinyLlamaFolder } from '@cohort/tfjs/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTransformersTokenizer } from './load-transformers-tokenizer';

describe('loadTransformersTokenizer', () => {
  let root = '';
  beforeAll(async () => {
    await initializeBackend({ logger: false });
    root = await mkdtemp(path.join(tmpdir(), 'cohort-tokenizer-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('reads a Llama-family folder with the same ids and chat template as the tokenizer that wrote it', async () => {
    const directory = path.join(root, 'tiny-qwen2');
    const { tokenizer: written } = await writeTinyLlamaFolder(directory, {
      config: {
        modelType: 'qwen2',
        hiddenSize: 16,
        intermediateSize: 24,
        layerCount: 1,
        headCount: 2,
      },
      seed: 1,
    });
    const tokenizer = await loadTransformersTokenizer(directory);
    expect(tokenizer.vocabSize).toBe(written.vocabSize);
    expect(tokenizer.eosTokenId).toBe(written.eosTokenId);
    expect(tokenizer.endOfTurnTokenId).toBe(written.endOfTurnTokenId);
    const text = 'hello, how can I help you today? pull arm 3';
    expect(tokenizer.encode(text)).toEqual(written.encode(text));
    const messages = [
      { role: 'system' as const, content: 'You are helpful.' },
      { role: 'user' as const, content: 'I would like to change my order.' },
    ];
    expect(tokenizer.applyChatTemplate(messages)).toEqual(written.applyChatTemplate(messages));
    expect(tokenizer.decode(written.encode(text))).toBe(text);
  });

  it('names the folder and the missing file', async () => {
    await expect(loadTransformersTokenizer(path.join(root, 'nowhere'))).rejects.toThrow(
      /nowhere: missing tokenizer\.json, tokenizer_config\.json/,
    );
  });
});
