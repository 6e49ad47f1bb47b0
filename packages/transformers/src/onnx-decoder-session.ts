import { assertInteger } from '@cohort/core';
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
export function cacheLayout(model: OnnxExportableModel): {
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
 * The ONNX Runtime thread count a sampler or reference session gets when its
 * options leave `intraOpNumThreads` out: 1 for a small model, where splitting
 * each kernel over threads costs more than it saves, else ONNX Runtime's
 * default (0: one thread per core). Measured on 2 cores
 * (bench/onnx-threads.ts, alternating, two runs): sampling 8 rows ran
 * 1.16-1.56x faster on 1 thread than on the default for 0.5-3M parameters and
 * 0.91-0.92x at 11M; reference scoring 1.03-1.28x at 0.5M, 0.89-1.04x at 3M,
 * 0.74-0.75x at 11M. In the default GRPO
 * step, the rollout's median fell from 0.19 to 0.15 s.
 */
export function defaultIntraOpThreads(
  model: OnnxExportableModel,
  session: 'sampler' | 'reference',
): number {
  const count = model.parameterCount();
  const parameters = typeof count === 'number' ? count : count.base + count.adapters;
  return parameters < (session === 'sampler' ? 5e6 : 1e6) ? 1 : 0;
}

/**
 * Opens an ONNX Runtime session on an exported decoder graph. `memoryArena:
 * false` turns off ONNX Runtime's CPU arena and memory patterns, which
 * otherwise keep the largest run's buffers for the session's life: worth it
 * for a session that runs one large batch per training step (the reference),
 * not for the sampler's many small runs. `intraOpNumThreads` is the session's
 * thread count, the calling thread included; 0 or left out, ONNX Runtime's
 * default: one per core, its extra threads pinned to cores.
 */
export function createDecoderSession(
  bytes: Uint8Array,
  options: { memoryArena?: boolean; intraOpNumThreads?: number } = {},
): Promise<ort.InferenceSession> {
  const memoryArena = options.memoryArena ?? true;
  const threads = options.intraOpNumThreads ?? 0;
  assertInteger('intraOpNumThreads', threads, 0);
  return ort.InferenceSession.create(bytes, {
    graphOptimizationLevel: 'all',
    enableCpuMemArena: memoryArena,
    enableMemPattern: memoryArena,
    ...(threads === 0 ? {} : { intraOpNumThreads: threads, interOpNumThreads: 1 }),
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
