import { z } from 'zod';

/** Options of {@link loadCausalLm}. */
export const LoadCausalLmOptionsSchema = z
  .object({
    /** A local model folder (Hugging Face layout with `onnx/`), or a hub id such as `onnx-community/Qwen2.5-0.5B-Instruct`. */
    model: z.string().min(1),
    /** Allow downloading a hub id (default false: offline, local folders only). */
    allowRemote: z.boolean().default(false),
    /** Folder under which hub ids are looked up offline (transformers.js `env.localModelPath`). */
    localModelPath: z.string().min(1).optional(),
    /** Weights variant: `fp32` reads `onnx/model.onnx`, `q8` `onnx/model_quantized.onnx`, and so on. */
    dtype: z
      .enum(['auto', 'fp32', 'fp16', 'q8', 'int8', 'uint8', 'q4', 'bnb4', 'q4f16'])
      .default('fp32'),
    /** ONNX Runtime device. Default `cpu`. */
    device: z
      .enum(['auto', 'cpu', 'gpu', 'wasm', 'webgpu', 'cuda', 'dml', 'coreml'])
      .default('cpu'),
    /** Override of the tokenizer's end-of-turn id. */
    endOfTurnTokenId: z.number().int().nonnegative().optional(),
  })
  .strict();

export type LoadCausalLmOptions = z.input<typeof LoadCausalLmOptionsSchema>;
