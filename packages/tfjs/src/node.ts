// `@cohort/tfjs/node`: the parts that read and write files, kept out of the
// main entry so that a browser bundle of `@cohort/tfjs` never meets `node:*`.
export { writeFileAtomic } from './atomic-file';
export type { CheckpointContents, CheckpointExpectation } from './checkpoint';
export { loadCheckpoint, saveCheckpoint } from './checkpoint';
export type { LoadLlamaModelOptions, SaveLlamaModelOptions } from './llama/llama-files';
export { loadLlamaModel, readLlamaConfig, saveLlamaModel } from './llama/llama-files';
export type { LoraAdapter, SaveLoraAdapterOptions } from './llama/peft-adapter-files';
export { loadLoraAdapter, readLoraAdapter, saveLoraAdapter } from './llama/peft-adapter-files';
export type { WriteTinyLlamaFolderOptions } from './llama/tiny-llama-folder';
export { writeTinyLlamaFolder } from './llama/tiny-llama-folder';
export { loadGptPolicy } from './load-gpt-policy';
export type {
  DataParallelBatch,
  DataParallelGradients,
  ShardGradientLearner,
} from './node/data-parallel-learner';
export { createDataParallelLearner, DataParallelLearner } from './node/data-parallel-learner';
export type {
  DataParallelLearnerOptions,
  DataParallelLearnerOptionsInput,
} from './node/data-parallel-learner-options';
export { DataParallelLearnerOptionsSchema } from './node/data-parallel-learner-options';
export type { ShardLoss, ShardLossContext, ShardLossResult } from './node/data-parallel-protocol';
export { DataParallelWorkerError } from './node/data-parallel-worker-error';
export {
  createSequentialShardLearner,
  SequentialShardLearner,
} from './node/sequential-shard-learner';
export type {
  SequentialShardLearnerOptions,
  SequentialShardLearnerOptionsInput,
} from './node/sequential-shard-learner-options';
export { SequentialShardLearnerOptionsSchema } from './node/sequential-shard-learner-options';
export type {
  ExportableTokenizer,
  ExportForTransformersJsOptions,
} from './onnx/export-for-transformers-js';
export { exportForTransformersJs } from './onnx/export-for-transformers-js';
export type { ExportLlamaForTransformersJsOptions } from './onnx/export-llama-for-transformers-js';
export { exportLlamaForTransformersJs } from './onnx/export-llama-for-transformers-js';
export type { HuggingFaceModel, SaveHuggingFaceModelOptions } from './safetensors-files';
export { loadHuggingFaceModel, saveHuggingFaceModel } from './safetensors-files';
export { loadBpeTokenizer, saveBpeTokenizer } from './tokenizer/bpe-tokenizer-files';
