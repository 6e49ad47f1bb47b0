import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Random } from '@cohort/core';
import { generate, initializeBackend, type WeightMap } from '@cohort/tfjs';
import {
  loadLlamaModel,
  readLoraAdapter,
  saveLoraAdapter,
  writeTinyLlamaFolder,
} from '@cohort/tfjs/node';
import { loadTransformersTokenizer } from '@cohort/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadChatModel } from '../chat-model';
import { replyTo } from '../chat-reply';
import type { CliIo } from '../cli-io';
import { UsageError } from '../exit-codes';
import { exportCommand } from './export-command';

function quietIo(): CliIo & { out: string[] } {
  const out: string[] = [];
  const sink = {
    write(text: string) {
      out.push(text);
      return true;
    },
  };
  return {
    out,
    stdout: sink as CliIo['stdout'],
    stderr: { write: () => true } as unknown as CliIo['stderr'],
    stdin: Readable.from([]),
    onInterrupt: () => () => {},
  };
}

const lora = {
  rank: 2,
  alpha: 8,
  targets: ['q_proj', 'o_proj', 'gate_proj', 'down_proj'] as const,
};
const embeddedModel = fileURLToPath(new URL('../../models/support-agent-tiny', import.meta.url));
let scratch = '';
let base = '';
let adapter = '';

beforeAll(async () => {
  await initializeBackend({ logger: false });
  scratch = await mkdtemp(path.join(tmpdir(), 'cohort-export-'));
  base = path.join(scratch, 'tiny-qwen2');
  adapter = path.join(scratch, 'adapter');
  await writeTinyLlamaFolder(base, {
    config: {
      modelType: 'qwen2',
      hiddenSize: 32,
      intermediateSize: 48,
      layerCount: 2,
      headCount: 4,
      keyValueHeadCount: 2,
      contextLength: 96,
      tieWordEmbeddings: false,
    },
    seed: 5,
  });
  // An adapter whose B factors are far from zero, so merging changes what the model says.
  const model = await loadLlamaModel(base, { lora: { ...lora, targets: [...lora.targets] } });
  const random = new Random(11);
  const adapters: WeightMap = {};
  for (const [name, tensor] of Object.entries(model.adapterWeights())) {
    const data = new Float32Array(tensor.data.length);
    for (let i = 0; i < data.length; i++) data[i] = random.normal() * 0.6;
    adapters[name] = { shape: tensor.shape, data };
  }
  model.loadAdapterWeights(adapters);
  await saveLoraAdapter(adapter, model);
  model.dispose();
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('agent-trainer export', () => {
  it('merges a PEFT adapter into a folder that tfjs and transformers.js both read, answering as the adapted model does', async () => {
    const out = path.join(scratch, 'merged');
    const io = quietIo();
    const code = await exportCommand(
      {
        command: 'export',
        model: base,
        adapter,
        out,
        dtype: 'F32',
        json: true,
        verbose: false,
      },
      io,
    );
    expect(code).toBe(0);
    expect(JSON.parse(io.out.join(''))).toMatchObject({ type: 'export', merged: true });
    for (const file of [
      'config.json',
      'model.safetensors',
      'tokenizer.json',
      'tokenizer_config.json',
      'generation_config.json',
      'onnx/model.onnx',
    ]) {
      expect(existsSync(path.join(out, file)), file).toBe(true);
    }
    const config = JSON.parse(await readFile(path.join(out, 'config.json'), 'utf8'));
    expect(config.model_type).toBe('qwen2');

    // The adapted model, run as trained: base weights plus adapters on tfjs.
    const { options, weights } = await readLoraAdapter(adapter);
    const adapted = await loadLlamaModel(base, { lora: options });
    adapted.loadAdapterWeights(weights);
    const plainBase = await loadLlamaModel(base);
    const tokenizer = await loadTransformersTokenizer(base);
    const merged = await loadChatModel(out, { engine: 'tfjs' });
    const onnx = await loadChatModel(out, { engine: 'transformers.js' });
    expect(onnx.engine).toBe('transformers.js');

    const conversations = ['hello, how can I help?', 'pull arm 3', 'change my order please'];
    let differsFromBase = 0;
    for (const [index, user] of conversations.entries()) {
      const prompt = tokenizer.applyChatTemplate(
        [
          { role: 'system', content: 'You are a support agent.' },
          { role: 'user', content: user },
        ],
        { addGenerationPrompt: true },
      );
      const greedy = async (model: typeof adapted) =>
        (
          await generate(model, {
            prompts: [prompt],
            maxNewTokens: 12,
            temperature: 0,
            stopTokenIds: [tokenizer.endOfTurnTokenId ?? tokenizer.eosTokenId],
            eosTokenId: tokenizer.eosTokenId,
            padTokenId: tokenizer.padTokenId,
          })
        )[0]!.tokenIds;
      const expected = await greedy(adapted);
      if ((await greedy(plainBase)).join() !== expected.join()) differsFromBase++;
      const options = {
        prompt,
        maxNewTokens: 12,
        temperature: 0,
        seed: index,
        stopTokenIds: [tokenizer.endOfTurnTokenId ?? tokenizer.eosTokenId],
      };
      expect(await merged.sample(options)).toEqual(expected);
      expect(await onnx.sample(options)).toEqual(expected);
    }
    // The adapter is not a no-op: merging it changed at least one greedy answer of the base.
    expect(differsFromBase).toBeGreaterThan(0);
    const reply = await replyTo({
      model: onnx,
      messages: [{ role: 'user', content: 'hello' }],
      maxNewTokens: 8,
      temperature: 0,
      seed: 0,
    });
    expect(typeof reply).toBe('string');
    for (const model of [adapted, plainBase]) model.dispose();
    merged.dispose();
  });

  it('refuses a folder that is not of the Llama family, naming its model_type', async () => {
    const exportGpt2 = () =>
      exportCommand(
        {
          command: 'export',
          model: embeddedModel,
          out: path.join(scratch, 'never'),
          dtype: 'F32',
          json: false,
          verbose: false,
        },
        quietIo(),
      );
    await expect(exportGpt2()).rejects.toThrow(UsageError);
    await expect(exportGpt2()).rejects.toThrow(/model_type "gpt2"/);
    expect(existsSync(path.join(scratch, 'never'))).toBe(false);
  });
});
