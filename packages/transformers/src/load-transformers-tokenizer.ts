import { existsSync } from 'node:fs';
import path from 'node:path';
import { AutoTokenizer } from '@huggingface/transformers';
import { ModelFilesError } from './model-files-error';
import { TransformersTokenizer, type TransformersTokenizerOptions } from './transformers-tokenizer';
import { withLocalModelPath } from './with-local-model-path';

/**
 * Loads the tokenizer of a local Hugging Face folder (`tokenizer.json`,
 * `tokenizer_config.json` with the model's own chat template, tool-call
 * templates included) through transformers.js, offline, as the core
 * `Tokenizer`. Used with models trained in tfjs (the Llama family), whose
 * folders have safetensors but no ONNX graph. A missing file throws
 * {@link ModelFilesError} naming the folder and the file.
 *
 * @example
 * ```ts
 * const tokenizer = await loadTransformersTokenizer('models/SmolLM2-135M-Instruct');
 * tokenizer.applyChatTemplate([{ role: 'user', content: 'hi' }]);
 * ```
 */
export async function loadTransformersTokenizer(
  directory: string,
  options: TransformersTokenizerOptions = {},
): Promise<TransformersTokenizer> {
  const folder = path.resolve(directory);
  const missing = ['tokenizer.json', 'tokenizer_config.json'].filter(
    (file) => !existsSync(path.join(folder, file)),
  );
  if (missing.length > 0) {
    throw new ModelFilesError({ directory: folder, message: `missing ${missing.join(', ')}` });
  }
  try {
    const tokenizer = await withLocalModelPath(path.dirname(folder), false, () =>
      AutoTokenizer.from_pretrained(path.basename(folder)),
    );
    return new TransformersTokenizer(tokenizer, options);
  } catch (error) {
    if (ModelFilesError.isInstance(error)) throw error;
    throw new ModelFilesError({
      directory: folder,
      message: `transformers.js could not load its tokenizer (${(error as Error).message})`,
      cause: error,
    });
  }
}
