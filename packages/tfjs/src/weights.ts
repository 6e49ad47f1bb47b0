/** One named weight tensor in plain memory (row-major float32). */
export interface WeightTensor {
  shape: number[];
  data: Float32Array;
}

/**
 * Named weights, keyed by Hugging Face parameter names (for GPT-2:
 * `transformer.h.0.attn.c_attn.weight`, ...). The exchange format between
 * models, safetensors files and the ONNX exporter.
 */
export type WeightMap = Record<string, WeightTensor>;
