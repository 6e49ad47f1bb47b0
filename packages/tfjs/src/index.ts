export type { Gpt2Config, Gpt2ConfigInput } from './gpt2-config';
export {
  Gpt2ConfigSchema,
  gpt2ConfigFromHuggingFace,
  gpt2ConfigToHuggingFace,
  parseGpt2Config,
} from './gpt2-config';
export type { WeightMap, WeightTensor } from './weights';
// -- runtime and models (backend, fast ops, GPT model, optimizers, heads, checkpoints) --
// -- formats (tokenizer, safetensors, ONNX export) --
