// The ONNX Runtime engine alone: sampling, reference scoring and learning of
// tfjs models on onnxruntime-node. Importing it does not load transformers.js
// (about 30 MB of resident memory), so a run that only trains a tfjs model on
// ONNX Runtime imports `@cohort/transformers/onnx`.
export { defaultIntraOpThreads } from './onnx-decoder-session';
export type {
  LogProbMismatch,
  OnnxExportableModel,
  OnnxGptSamplerOptions,
} from './onnx-gpt-sampler';
export { createOnnxGptSampler, OnnxGptSampler } from './onnx-gpt-sampler';
export type {
  OnnxGradients,
  OnnxLearnerBatch,
  OnnxLearnerFamily,
  OnnxLearnerWeights,
  OnnxLogProbs,
} from './onnx-learner';
export {
  createOnnxGptLearner,
  createOnnxLlamaLearner,
  defaultLearnerMemoryArena,
  gptLearnerFamily,
  learnerRuns,
  llamaLearnerFamily,
  OnnxLearner,
} from './onnx-learner';
export type {
  OnnxGptLearnerOptions,
  OnnxGptLearnerOptionsInput,
  OnnxLlamaLearnerOptions,
  OnnxLlamaLearnerOptionsInput,
} from './onnx-learner-options';
export { OnnxGptLearnerOptionsSchema, OnnxLlamaLearnerOptionsSchema } from './onnx-learner-options';
export type { OnnxLearnerPoolOptions } from './onnx-learner-pool';
export {
  createOnnxLearnerPool,
  defaultPoolTokensPerRun,
  OnnxLearnerPool,
} from './onnx-learner-pool';
export type { OnnxReferenceModelOptions } from './onnx-reference-model';
export {
  createOnnxReferenceModel,
  OnnxReferenceModel,
  RefreshableOnnxReferenceModel,
} from './onnx-reference-model';
export type { OnnxSampledPolicyOptions } from './onnx-sampled-policy';
export { createOnnxSampledPolicy, OnnxSampledPolicy } from './onnx-sampled-policy';
