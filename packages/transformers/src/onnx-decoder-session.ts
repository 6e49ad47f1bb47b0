import { exportGpt2ToOnnx, exportLlamaToOnnx, type GptModel, LlamaModel } from '@cohort/tfjs';
import * as ort from 'onnxruntime-node';

/** A trainable tfjs model that can run on ONNX Runtime: GPT-2 or the Llama family. */
export type OnnxExportableModel = GptModel | LlamaModel;

/** `[batch, cacheHeads, past, headSize]` key/value cache tensors by input name. */
export type OnnxPastKeyValues = Record<string, ort.Tensor>;

/** An `int64 [rows, width]` tensor of equal-length rows. */
function int64(rows: readonly (readonly number[])[]): ort.Tensor {
  const width = rows[0]?.length ?? 0;
  const values = new BigInt64Array(rows.length * width);
  rows.forEach((row, b) => {
    row.forEach((value, t) => {
      values[b * width + t] = BigInt(value);
    });
  });
  return new ort.Tensor('int64', values, [rows.length, width]);
}

/** The layout of a model's ONNX key/value cache: `[batch, cacheHeads, past, headSize]` per layer. */
function cacheLayout(model: OnnxExportableModel): {
  layerCount: number;
  cacheHeads: number;
  headSize: number;
} {
  if (model instanceof LlamaModel) {
    const { layerCount, keyValueHeadCount, headSize } = model.config;
    return { layerCount, cacheHeads: keyValueHeadCount, headSize };
  }
  const { layerCount, headCount, embeddingSize } = model.config;
  return { layerCount, cacheHeads: headCount, headSize: embeddingSize / headCount };
}

/**
 * The model's current weights as an ONNX decoder graph. `adapters: 'merged'`
 * folds a Llama-family model's LoRA adapters into its weights (the policy);
 * `'off'` leaves them out (the frozen base, the KL reference of LoRA).
 * `lastPositionOnly` gives `logits [batch, 1, vocab]` (a sampler's graph).
 */
export function exportDecoder(
  model: OnnxExportableModel,
  adapters: 'merged' | 'off',
  options: { lastPositionOnly?: boolean } = {},
): Uint8Array {
  const lastPositionOnly = options.lastPositionOnly ?? false;
  if (model instanceof LlamaModel) {
    return exportLlamaToOnnx({
      config: model.config,
      weights: model.getWeights({ merged: adapters === 'merged' }),
      lastPositionOnly,
    });
  }
  return exportGpt2ToOnnx({ config: model.config, weights: model.getWeights(), lastPositionOnly });
}

/**
 * Opens an ONNX Runtime session on an exported decoder graph. `memoryArena:
 * false` turns off ONNX Runtime's CPU arena and memory patterns, which
 * otherwise keep the largest run's buffers for the session's life: worth it
 * for a session that runs one large batch per training step (the reference),
 * not for the sampler's many small runs.
 */
export function createDecoderSession(
  bytes: Uint8Array,
  options: { memoryArena?: boolean } = {},
): Promise<ort.InferenceSession> {
  const memoryArena = options.memoryArena ?? true;
  return ort.InferenceSession.create(bytes, {
    graphOptimizationLevel: 'all',
    enableCpuMemArena: memoryArena,
    enableMemPattern: memoryArena,
  });
}

/**
 * One forward pass of an exported decoder over `tokenIds [B, T]`, after
 * `past` (none: an empty cache). Returns the `[B, T, V]` row-major logits and
 * the cache to continue from.
 */
export async function runDecoder(options: {
  session: ort.InferenceSession;
  model: OnnxExportableModel;
  tokenIds: readonly (readonly number[])[];
  attentionMask: readonly (readonly number[])[];
  positionIds: readonly (readonly number[])[];
  past?: OnnxPastKeyValues;
}): Promise<{ logits: Float32Array; present: OnnxPastKeyValues }> {
  const { layerCount, cacheHeads, headSize } = cacheLayout(options.model);
  const rows = options.tokenIds.length;
  const feeds: Record<string, ort.Tensor> = {
    input_ids: int64(options.tokenIds),
    attention_mask: int64(options.attentionMask),
    position_ids: int64(options.positionIds),
  };
  for (let layer = 0; layer < layerCount; layer++) {
    for (const part of ['key', 'value']) {
      const name = `past_key_values.${layer}.${part}`;
      feeds[name] =
        options.past?.[name] ??
        new ort.Tensor('float32', new Float32Array(0), [rows, cacheHeads, 0, headSize]);
    }
  }
  const outputs = await options.session.run(feeds);
  const present: OnnxPastKeyValues = {};
  for (let layer = 0; layer < layerCount; layer++) {
    for (const part of ['key', 'value']) {
      present[`past_key_values.${layer}.${part}`] = outputs[
        `present.${layer}.${part}`
      ] as ort.Tensor;
    }
  }
  return { logits: (outputs.logits as ort.Tensor).data as Float32Array, present };
}
