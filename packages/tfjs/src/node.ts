// `@cohort/tfjs/node`: the parts that read and write files, kept out of the
// main entry so that a browser bundle of `@cohort/tfjs` never meets `node:*`.
export { writeFileAtomic } from './atomic-file';
export type { CheckpointContents, CheckpointExpectation } from './checkpoint';
export { loadCheckpoint, saveCheckpoint } from './checkpoint';
export { loadGptPolicy } from './load-gpt-policy';
export type {
  ExportableTokenizer,
  ExportForTransformersJsOptions,
} from './onnx/export-for-transformers-js';
export { exportForTransformersJs } from './onnx/export-for-transformers-js';
export type { HuggingFaceModel, SaveHuggingFaceModelOptions } from './safetensors-files';
export { loadHuggingFaceModel, saveHuggingFaceModel } from './safetensors-files';
export { loadBpeTokenizer, saveBpeTokenizer } from './tokenizer/bpe-tokenizer-files';
