export type { CausalLmCache, CausalLmForwardInput, CausalLmForwardOutput } from './causal-lm';
export { CausalLm } from './causal-lm';
export type { LoadedCausalLm } from './load-causal-lm';
export { loadCausalLm } from './load-causal-lm';
export type { LoadCausalLmOptions } from './load-causal-lm-options';
export { LoadCausalLmOptionsSchema } from './load-causal-lm-options';
export { argmax, logSoftmax, sampleTruncated } from './logits-math';
export { ModelFilesError } from './model-files-error';
export type {
  NextTokenStepper,
  SamplingLoopOptions,
  SamplingLoopRequest,
  StepInput,
} from './sampling-loop';
export { runSamplingLoop, validateSampleRequest } from './sampling-loop';
export type { TransformersReferenceModelOptions } from './transformers-reference-model';
export {
  logProbsOfSequence,
  TransformersReferenceModel,
} from './transformers-reference-model';
export type { TransformersSamplerOptions } from './transformers-sampler';
export { causalLmStepper, TransformersSampler } from './transformers-sampler';
export type { TransformersTokenizerOptions } from './transformers-tokenizer';
export { TransformersTokenizer } from './transformers-tokenizer';
