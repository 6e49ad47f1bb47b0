export { argmax } from './argmax';
export type { BackendChoice, BackendRequest, InitializeBackendOptions } from './backend';
export { initializeBackend } from './backend';
export type { CausalLanguageModel } from './causal-language-model';
export {
  CausalLanguageModelPolicy,
  referenceLogProbsInBatches,
  sampleCompletions,
  scoreTokenLogProbs,
} from './causal-language-model-policy';
export type { FusedSelfAttentionResult } from './causal-self-attention';
export { fusedSelfAttention } from './causal-self-attention';
export { embeddingLookup } from './embedding-lookup';
export { gelu } from './gelu';
export type { GenerateOptions } from './generate';
export { generate } from './generate';
export type {
  CreateGptModelOptions,
  GptForwardOptions,
  GptForwardResult,
  GptOps,
  LayerKeyValue,
} from './gpt-model';
export { createGptModel, GptModel } from './gpt-model';
export { GptPolicy, GptReferenceModel } from './gpt-policy';
export type { Gpt2Config, Gpt2ConfigInput } from './gpt2-config';
export {
  Gpt2ConfigSchema,
  gpt2ConfigFromHuggingFace,
  gpt2ConfigToHuggingFace,
  parseGpt2Config,
} from './gpt2-config';
export { floatToBfloat16Bits, floatToHalfBits } from './half-precision';
export { layerNorm } from './layer-norm';
export type { LearningRateSchedule } from './learning-rate-schedule';
export { LearningRateScheduleSchema, learningRateAt } from './learning-rate-schedule';
export { linear } from './linear';
export { frozenLinear } from './llama/frozen-linear';
export type {
  LlamaConfig,
  LlamaConfigInput,
  LlamaModelType,
  RopeScaling,
} from './llama/llama-config';
export {
  LlamaConfigSchema,
  llamaConfigFromHuggingFace,
  llamaConfigToHuggingFace,
  llamaModelTypes,
  parseLlamaConfig,
  RopeScalingSchema,
} from './llama/llama-config';
export type { CreateLlamaModelOptions, LlamaForwardOptions } from './llama/llama-model';
export { createLlamaModel, LlamaModel } from './llama/llama-model';
export { LlamaPolicy, LlamaReferenceModel } from './llama/llama-policy';
export type { LoraOptions, LoraOptionsInput, LoraTargetModule } from './llama/lora-options';
export { LoraOptionsSchema, loraTargetModules, parseLoraOptions } from './llama/lora-options';
export type { RandomLlamaWeightsOptions, ReferenceLlamaOptions } from './llama/reference-llama';
export { randomLlamaWeights, referenceLlamaLogits } from './llama/reference-llama';
export { repeatKeyValueHeads } from './llama/repeat-key-value-heads';
export { rmsNorm } from './llama/rms-norm';
export { applyRotary, rotaryInverseFrequencies, rotaryTables } from './llama/rotary-embedding';
export { matMul2d } from './mat-mul-2d';
export type { MlpModelOptions, MlpModelOptionsInput } from './mlp-model';
export { createMlpModel, MlpModel, MlpModelOptionsSchema } from './mlp-model';
export type { ExportGpt2ToOnnxOptions } from './onnx/export-gpt2-to-onnx';
export { exportGpt2ToOnnx, gpt2OnnxOpsetVersion } from './onnx/export-gpt2-to-onnx';
export type { ExportLlamaToOnnxOptions } from './onnx/export-llama-to-onnx';
export { exportLlamaToOnnx, llamaOnnxOpsetVersion } from './onnx/export-llama-to-onnx';
export type { GptLearningGraph, GptLearningGraphOptions } from './onnx/gpt-learning-graph';
export { buildGptLearningGraph, gptLearningWeights } from './onnx/gpt-learning-graph';
export type { LearningGraphWeight } from './onnx/learning-graph-parts';
export {
  learningGradientOutputName,
  learningGraphOpsetVersion,
} from './onnx/learning-graph-parts';
export type {
  LlamaLearningGraph,
  LlamaLearningGraphOptions,
  LlamaLearningWeight,
} from './onnx/llama-learning-graph';
export {
  buildLlamaLearningGraph,
  llamaGradientOutputName,
  llamaLearningOpsetVersion,
  llamaLearningWeights,
} from './onnx/llama-learning-graph';
export type { OptimizerState, OptimizerStepResult, OptimizerVariables } from './optimizer';
export { createOptimizer, Optimizer } from './optimizer';
export type { OptimizerOptions, OptimizerOptionsInput } from './optimizer-options';
export { OptimizerOptionsSchema } from './optimizer-options';
export type { RandomGpt2WeightsOptions, ReferenceGpt2Options } from './reference-gpt2';
export { randomGpt2Weights, referenceGpt2LogitRows, referenceGpt2Logits } from './reference-gpt2';
export {
  checkGpt2Weights,
  gpt2WeightShapes,
  normalizeGpt2WeightNames,
} from './reference-gpt2-weights';
export type {
  ReadSafetensorsOptions,
  SafetensorsContents,
  SafetensorsFile,
  SafetensorsFloatType,
  WriteSafetensorsOptions,
} from './safetensors';
export { halfToFloat, openSafetensors, readSafetensors, writeSafetensors } from './safetensors';
export type { AttentionStrategy, CausalAttentionBiasOptions } from './scaled-dot-product-attention';
export {
  causalAttentionBias,
  maskedScore,
  scaledDotProductAttention,
} from './scaled-dot-product-attention';
export type { SelectedLogProbsResult } from './selected-log-probs';
export { selectedLogProbs } from './selected-log-probs';
export type { TokenLogProbsOptions, TokenLogProbsResult } from './token-log-probs';
export { tokenLogProbs } from './token-log-probs';
export type { BpeTokenizerDefinition } from './tokenizer/bpe-tokenizer';
export {
  BpeTokenizer,
  chatMlJinjaTemplate,
  standardSpecialTokens,
} from './tokenizer/bpe-tokenizer';
export {
  byteLevelPreTokenize,
  byteToCharacter,
  characterToByte,
  gpt2PreTokenizePattern,
} from './tokenizer/byte-level';
export type { TrainBpeTokenizerOptions } from './tokenizer/train-bpe-tokenizer';
export { TrainBpeTokenizerOptionsSchema, trainBpeTokenizer } from './tokenizer/train-bpe-tokenizer';
export { UnigramPolicy, UnigramReference } from './unigram-policy';
export type { ValueHeadOptions } from './value-head';
export { createValueHead, ValueHead } from './value-head';
export type { WeightMap, WeightTensor } from './weights';
