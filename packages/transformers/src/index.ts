// The one validation of sample requests lives in core; re-exported where it used to be.
export { validateSampleRequest } from '@cohort/core';
export { BaseLogitsCache } from './base-logits-cache';
export type { CausalLmCache, CausalLmForwardInput, CausalLmForwardOutput } from './causal-lm';
export { CausalLm } from './causal-lm';
export type { CausalLmTextClassifierOptions } from './causal-lm-text-classifier';
export { causalLmTextClassifier } from './causal-lm-text-classifier';
export type { DeltaForwardResult } from './delta-model';
export { DeltaModel, deltaHeadBiasName, deltaHeadWeightName } from './delta-model';
export type {
  FeatureExtractionFeaturizerOptions,
  FeatureExtractionPipelineLike,
  FeaturePooling,
} from './feature-extraction-featurizer';
export { featureExtractionFeaturizer } from './feature-extraction-featurizer';
export type { LlmTextRewriterOptions } from './llm-text-rewriter';
export { llmTextRewriter } from './llm-text-rewriter';
export { LlmUserSimulator, userSimulatorInstructions } from './llm-user-simulator';
export type {
  LlmUserSimulatorOptions,
  LlmUserSimulatorOptionsInput,
} from './llm-user-simulator-options';
export { LlmUserSimulatorOptionsSchema } from './llm-user-simulator-options';
export type { LoadedCausalLm } from './load-causal-lm';
export { loadCausalLm } from './load-causal-lm';
export type { LoadCausalLmOptions } from './load-causal-lm-options';
export { LoadCausalLmOptionsSchema } from './load-causal-lm-options';
export type { LoadPipelineOptions } from './load-pipeline';
export { loadPipeline } from './load-pipeline';
export { loadTransformersTokenizer } from './load-transformers-tokenizer';
export { logSoftmax, sampleTruncated } from './logits-math';
export { ModelFilesError } from './model-files-error';
export * from './onnx';
export { ProxyReferenceModel } from './proxy-reference-model';
export type { CreateProxyTunedPolicyOptions } from './proxy-tuned-policy';
export { createProxyTunedPolicy, ProxyTunedPolicy } from './proxy-tuned-policy';
export type {
  ProxyTunedPolicyOptions,
  ProxyTunedPolicyOptionsInput,
} from './proxy-tuned-policy-options';
export {
  DeltaModelSizeSchema,
  ProxyTunedPolicyOptionsSchema,
} from './proxy-tuned-policy-options';
export type {
  NextTokenStepper,
  SamplingLoopOptions,
  SamplingLoopRequest,
  StepInput,
} from './sampling-loop';
export { runSamplingLoop } from './sampling-loop';
export type {
  ClassificationScore,
  TextClassificationPipelineLike,
  TextClassificationRewardOptions,
} from './text-classification-reward';
export { textClassificationReward } from './text-classification-reward';
export { TransformersChatModel } from './transformers-chat-model';
export type { TransformersReferenceModelOptions } from './transformers-reference-model';
export {
  logProbsOfSequence,
  TransformersReferenceModel,
} from './transformers-reference-model';
export type { TransformersSamplerOptions } from './transformers-sampler';
export { causalLmStepper, TransformersSampler } from './transformers-sampler';
export type { TransformersTokenizerOptions } from './transformers-tokenizer';
export { TransformersTokenizer } from './transformers-tokenizer';
export { withLocalModelPath } from './with-local-model-path';
