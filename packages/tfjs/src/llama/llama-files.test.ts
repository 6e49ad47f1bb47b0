import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CheckpointError, Random } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initializeBackend } from '../backend';
import { floatToBfloat16Bits, floatToHalfBits } from '../half-precision';
import { halfToFloat, readSafetensors } from '../safetensors';
import type { LlamaConfigInput } from './llama-config';
import { loadLlamaModel, saveLlamaModel } from './llama-files';
import { createLlamaModel, type LlamaModel } from './llama-model';
import { loadLoraAdapter, readLoraAdapter, saveLoraAdapter } from './peft-adapter-files';
import { randomLlamaWeights } from './reference-llama';
import { writeTinyLlamaFolder } from './tiny-llama-folder';

const families: Record<string, Omit<LlamaConfigInput, 'vocabSize'>> = {
  llama: {
    modelType: 'llama',
    hiddenSize: 16,
    intermediateSize: 24,
    layerCount: 2,
    headCount: 4,
    keyValueHeadCount: 2,
    contextLength: 64,
    tieWordEmbeddings: true,
    queryKeyValueBias: true,
    outputBias: true,
    mlpBias: true,
    ropeScaling: {
      type: 'llama3',
      factor: 8,
      lowFrequencyFactor: 1,
      highFrequencyFactor: 4,
      originalContextLength: 32,
    },
  },
  qwen2: {
    modelType: 'qwen2',
    hiddenSize: 16,
    intermediateSize: 24,
    layerCount: 2,
    headCount: 4,
    keyValueHeadCount: 2,
    contextLength: 64,
  },
  qwen3: {
    modelType: 'qwen3',
    hiddenSize: 16,
    intermediateSize: 24,
    layerCount: 1,
    headCount: 2,
    keyValueHeadCount: 1,
    headSize: 12,
    contextLength: 64,
  },
};

const widen = {
  F32: (value: number) => value,
  BF16: (value: number) => {
    const view = new DataView(new ArrayBuffer(4));
    view.setUint32(0, floatToBfloat16Bits(value) << 16);
    return view.getFloat32(0);
  },
  F16: (value: number) => halfToFloat(floatToHalfBits(value)),
};

function logitsOf(
  model: LlamaModel | ReturnType<LlamaModel['withoutAdapters']>,
  ids: number[],
): Float32Array {
  const { logits, presentKeyValues } = model.forward([ids]);
  const values = logits.dataSync() as Float32Array;
  tf.dispose([logits, ...presentKeyValues.flatMap(({ key, value }) => [key, value])]);
  return values;
}

describe('Llama-family Hugging Face folders', () => {
  let root: string;
  beforeAll(async () => {
    await initializeBackend({ logger: () => {} });
    root = await mkdtemp(path.join(tmpdir(), 'cohort-llama-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  for (const [family, config] of Object.entries(families)) {
    for (const dtype of ['F32', 'BF16', 'F16'] as const) {
      it(`${family} ${dtype}: loads exactly what was written, converted on load`, async () => {
        const directory = path.join(root, `${family}-${dtype}`);
        const { tokenizer } = await writeTinyLlamaFolder(directory, { config, seed: 2, dtype });
        const files = await readdir(directory);
        expect(files).toEqual(
          expect.arrayContaining([
            'config.json',
            'model.safetensors',
            'tokenizer.json',
            'tokenizer_config.json',
          ]),
        );
        const json = JSON.parse(await readFile(path.join(directory, 'config.json'), 'utf8'));
        expect(json.model_type).toBe(family);
        expect(json.vocab_size).toBe(tokenizer.vocabSize);
        const expected = randomLlamaWeights({
          config: { ...config, vocabSize: tokenizer.vocabSize },
          seed: 2,
        });
        const model = await loadLlamaModel(directory);
        const loaded = model.getWeights();
        expect(Object.keys(loaded).sort()).toEqual(Object.keys(expected).sort());
        for (const [name, tensor] of Object.entries(expected)) {
          expect(loaded[name]?.shape).toEqual(tensor.shape);
          expect(Array.from(loaded[name]?.data ?? [])).toEqual(
            Array.from(tensor.data, (value) => Math.fround(widen[dtype](value))),
          );
        }
        model.dispose();
      });
    }
  }

  it('loads a sharded folder through model.safetensors.index.json', async () => {
    const directory = path.join(root, 'sharded');
    await writeTinyLlamaFolder(directory, {
      config: families.qwen2 as LlamaConfigInput,
      seed: 3,
      maxShardBytes: 8000,
    });
    const files = await readdir(directory);
    const shards = files.filter((file) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(file));
    expect(shards.length).toBeGreaterThan(2);
    expect(files).not.toContain('model.safetensors');
    const single = path.join(root, 'unsharded');
    await writeTinyLlamaFolder(single, { config: families.qwen2 as LlamaConfigInput, seed: 3 });
    const a = await loadLlamaModel(directory);
    const b = await loadLlamaModel(single);
    const ids = [1, 5, 9, 20, 30];
    expect(Array.from(logitsOf(a, ids))).toEqual(Array.from(logitsOf(b, ids)));
    a.dispose();
    b.dispose();
  });

  it('names the missing file, the unknown model_type, and the missing or misshaped tensor', async () => {
    const directory = path.join(root, 'broken');
    await writeTinyLlamaFolder(directory, {
      config: families.llama as LlamaConfigInput,
      seed: 4,
      dtype: 'F32',
    });
    const configText = await readFile(path.join(directory, 'config.json'), 'utf8');
    const weightsBytes = await readFile(path.join(directory, 'model.safetensors'));
    await expect(loadLlamaModel(path.join(root, 'nowhere'))).rejects.toThrow(
      /nowhere\/config\.json: config\.json is missing/,
    );
    await writeFile(
      path.join(directory, 'config.json'),
      JSON.stringify({ ...JSON.parse(configText), model_type: 'gpt2' }),
    );
    await expect(loadLlamaModel(directory)).rejects.toThrow(/model_type = "gpt2"/);
    await writeFile(
      path.join(directory, 'config.json'),
      JSON.stringify({ ...JSON.parse(configText), rope_scaling: { rope_type: 'yarn', factor: 4 } }),
    );
    await expect(loadLlamaModel(directory)).rejects.toThrow(/rope_scaling\.rope_type = "yarn"/);
    await writeFile(
      path.join(directory, 'config.json'),
      JSON.stringify({ ...JSON.parse(configText), num_key_value_heads: 1 }),
    );
    await expect(loadLlamaModel(directory)).rejects.toThrow(
      /model\.layers\.0\.self_attn\.k_proj\.bias"\]\.shape.*is \[8\] \(8 values\) but must be \[4\]/,
    );
    await writeFile(
      path.join(directory, 'config.json'),
      JSON.stringify({ ...JSON.parse(configText), num_hidden_layers: 3 }),
    );
    await expect(loadLlamaModel(directory)).rejects.toThrow(
      /tensor "model\.layers\.2\.[a-z_.]+" is missing/,
    );
    await writeFile(path.join(directory, 'config.json'), configText);
    await rm(path.join(directory, 'model.safetensors'));
    const error = await loadLlamaModel(directory).catch((caught: unknown) => caught);
    expect(CheckpointError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(
      /neither model\.safetensors nor model\.safetensors\.index\.json/,
    );
    await writeFile(path.join(directory, 'model.safetensors'), weightsBytes);
    const model = await loadLlamaModel(directory);
    model.dispose();
  });

  it('merges adapters into a full folder that loads as the adapted model', async () => {
    const base = path.join(root, 'merge-base');
    await writeTinyLlamaFolder(base, {
      config: families.llama as LlamaConfigInput,
      seed: 5,
      dtype: 'F32',
    });
    const model = await loadLlamaModel(base, {
      lora: { rank: 2, alpha: 5, targets: ['q_proj', 'v_proj', 'o_proj', 'down_proj'] },
    });
    const random = new Random(3);
    for (const variable of model.trainableVariables()) {
      variable.assign(
        tf.tensor(
          Float32Array.from({ length: variable.size }, () => random.normal(0, 0.3)),
          variable.shape,
        ),
      );
    }
    const ids = [3, 1, 4, 1, 5, 9, 2, 6];
    const adapted = logitsOf(model, ids);
    const baseLogits = logitsOf(model.withoutAdapters(), ids);
    const mergedDirectory = path.join(root, 'merged');
    await saveLlamaModel(mergedDirectory, model, { merged: true });
    const merged = await loadLlamaModel(mergedDirectory);
    const mergedLogits = logitsOf(merged, ids);
    let largest = 0;
    let moved = 0;
    for (let index = 0; index < adapted.length; index++) {
      largest = Math.max(
        largest,
        Math.abs((mergedLogits[index] as number) - (adapted[index] as number)),
      );
      moved = Math.max(moved, Math.abs((adapted[index] as number) - (baseLogits[index] as number)));
    }
    expect(largest).toBeLessThan(1e-5);
    expect(moved).toBeGreaterThan(0.05);
    merged.dispose();
    model.dispose();
  });

  it('round-trips adapters through the PEFT layout', async () => {
    const base = path.join(root, 'peft-base');
    await writeTinyLlamaFolder(base, {
      config: families.qwen3 as LlamaConfigInput,
      seed: 6,
      dtype: 'BF16',
    });
    const lora = {
      rank: 3,
      alpha: 6,
      targets: ['q_proj', 'k_proj', 'gate_proj', 'up_proj'] as const,
    };
    const model = await loadLlamaModel(base, { lora: { ...lora, targets: [...lora.targets] } });
    const random = new Random(4);
    for (const variable of model.trainableVariables()) {
      variable.assign(
        tf.tensor(
          Float32Array.from({ length: variable.size }, () => random.normal(0, 0.3)),
          variable.shape,
        ),
      );
    }
    const adapterDirectory = path.join(root, 'adapter');
    await saveLoraAdapter(adapterDirectory, model, { baseModelNameOrPath: base });
    const config = JSON.parse(
      await readFile(path.join(adapterDirectory, 'adapter_config.json'), 'utf8'),
    );
    expect(config).toMatchObject({
      peft_type: 'LORA',
      task_type: 'CAUSAL_LM',
      r: 3,
      lora_alpha: 6,
      base_model_name_or_path: base,
    });
    expect(config.target_modules).toEqual([...lora.targets]);
    const { weights } = readSafetensors(
      await readFile(path.join(adapterDirectory, 'adapter_model.safetensors')),
    );
    // PEFT keeps torch.nn.Linear layouts: lora_A [r, in], lora_B [out, r]; q_proj of Qwen3 here is 16 -> 2 * 12.
    expect(
      weights['base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight']?.shape,
    ).toEqual([3, 16]);
    expect(
      weights['base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight']?.shape,
    ).toEqual([24, 3]);
    expect(Object.keys(weights)).toHaveLength(8);
    const internal = model.adapterWeights()['model.layers.0.mlp.up_proj.lora_A.weight'] as {
      data: Float32Array;
    };
    const peft = weights['base_model.model.model.layers.0.mlp.up_proj.lora_A.weight'] as {
      data: Float32Array;
    };
    // Element (i, r) of A [in, r] is element (r, i) of PEFT's [r, in].
    expect(peft.data[1 * 16 + 5]).toBe(internal.data[5 * 3 + 1]);

    const restored = await loadLlamaModel(base, {
      lora: (await readLoraAdapter(adapterDirectory)).options,
    });
    await loadLoraAdapter(adapterDirectory, restored);
    const ids = [7, 3, 11, 2, 9];
    expect(Array.from(logitsOf(restored, ids))).toEqual(Array.from(logitsOf(model, ids)));

    const other = createLlamaModel({ config: restored.config, lora: { rank: 2 } });
    await expect(loadLoraAdapter(adapterDirectory, other)).rejects.toThrow(
      /do not match the model's adapters/,
    );
    await writeFile(
      path.join(adapterDirectory, 'adapter_config.json'),
      JSON.stringify({ ...config, use_rslora: true }),
    );
    await expect(readLoraAdapter(adapterDirectory)).rejects.toThrow(/use_rslora = true/);
    await writeFile(
      path.join(adapterDirectory, 'adapter_config.json'),
      JSON.stringify({ ...config, target_modules: 'q_proj|v_proj' }),
    );
    await expect(readLoraAdapter(adapterDirectory)).rejects.toThrow(
      /target_modules = "q_proj\|v_proj"/,
    );
    other.dispose();
    restored.dispose();
    model.dispose();
  });
});
