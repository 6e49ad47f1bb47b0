export type { Gpt2Config, Gpt2ConfigInput } from './gpt2-config';
export {
  Gpt2ConfigSchema,
  gpt2ConfigFromHuggingFace,
  gpt2ConfigToHuggingFace,
  parseGpt2Config,
} from './gpt2-config';
export type { WeightMap, WeightTensor } from './weights';
// -- runtime and models (backend, fast ops, GPT model, optimizers, heads, checkpoints) --
export type { BackendChoice, BackendRequest, InitializeBackendOptions } from './backend';
export { initializeBackend } from './backend';
export type { CheckpointContents, CheckpointExpectation } from './checkpoint';
export { loadCheckpoint, saveCheckpoint } from './checkpoint';
export { embeddingLookup } from './embedding-lookup';
export { gelu } from './gelu';
export type { FinishReason, GeneratedSequence, GenerateOptions } from './generate';
export { generate } from './generate';
export type { CreateGptModelOptions, GptForwardOptions, GptForwardResult, GptOps, LayerKeyValue } from './gpt-model';
export { createGptModel, GptModel } from './gpt-model';
export { layerNorm } from './layer-norm';
export type { LearningRateSchedule } from './learning-rate-schedule';
export { LearningRateScheduleSchema, learningRateAt } from './learning-rate-schedule';
export { linear } from './linear';
export { matMul2d } from './mat-mul-2d';
export type { MlpModelOptions, MlpModelOptionsInput } from './mlp-model';
export { createMlpModel, MlpModel, MlpModelOptionsSchema } from './mlp-model';
export type { OptimizerState, OptimizerStepResult, OptimizerVariables } from './optimizer';
export { createOptimizer, Optimizer } from './optimizer';
export type { OptimizerOptions, OptimizerOptionsInput } from './optimizer-options';
export { OptimizerOptionsSchema } from './optimizer-options';
export type { AttentionStrategy, CausalAttentionBiasOptions } from './scaled-dot-product-attention';
export { causalAttentionBias, maskedScore, scaledDotProductAttention } from './scaled-dot-product-attention';
export type { TokenLogProbsOptions, TokenLogProbsResult } from './token-log-probs';
export { tokenLogProbs } from './token-log-probs';
export type { ValueHeadOptions } from './value-head';
export { createValueHead, ValueHead } from './value-head';
// -- formats (tokenizer, safetensors, ONNX export) --
