import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseWithSchema } from '@cohort/core';
import { AutoModelForCausalLM, AutoTokenizer } from '@huggingface/transformers';
import { CausalLm } from './causal-lm';
import { type LoadCausalLmOptions, LoadCausalLmOptionsSchema } from './load-causal-lm-options';
import { ModelFilesError } from './model-files-error';
import { TransformersTokenizer } from './transformers-tokenizer';
import { withLocalModelPath } from './with-local-model-path';

/** A loaded transformers.js causal LM and its tokenizer. */
export interface LoadedCausalLm {
  tokenizer: TransformersTokenizer;
  model: CausalLm;
  /** The folder it was read from, or the hub id. */
  source: string;
}

function missingFiles(directory: string): string[] {
  if (!existsSync(directory) || !statSync(directory).isDirectory()) return ['(the folder itself)'];
  const missing = ['config.json', 'tokenizer.json', 'tokenizer_config.json'].filter(
    (file) => !existsSync(path.join(directory, file)),
  );
  const onnxDirectory = path.join(directory, 'onnx');
  const hasOnnx =
    existsSync(onnxDirectory) && readdirSync(onnxDirectory).some((file) => file.endsWith('.onnx'));
  if (!hasOnnx) missing.push('onnx/model*.onnx');
  return missing;
}

/**
 * Loads a causal LM and its tokenizer (with chat template) with transformers.js,
 * offline by default: `model` is a local folder in the Hugging Face layout
 * (`config.json`, `tokenizer.json`, `tokenizer_config.json`, `onnx/model.onnx`),
 * or a hub id that is read from `localModelPath` or, with `allowRemote`,
 * downloaded. A missing folder or file throws a {@link ModelFilesError}
 * naming the folder and the files.
 *
 * transformers.js keeps its paths in a global `env`; this sets
 * `env.allowRemoteModels` and `env.localModelPath` for the duration of the
 * load, so run loads one at a time.
 *
 * @example
 * ```ts
 * const { tokenizer, model } = await loadCausalLm({ model: 'models/tiny-chat' });
 * const sampler = new TransformersSampler({ model, tokenizer });
 * ```
 */
export async function loadCausalLm(options: LoadCausalLmOptions): Promise<LoadedCausalLm> {
  const parsed = parseWithSchema(LoadCausalLmOptionsSchema, options, 'loadCausalLm options');
  const asFolder = path.resolve(parsed.model);
  const underLocalPath =
    parsed.localModelPath === undefined
      ? undefined
      : path.resolve(parsed.localModelPath, parsed.model);
  let localModelPath: string;
  let id: string;
  if (existsSync(asFolder) || underLocalPath === undefined || !existsSync(underLocalPath)) {
    // A folder on disk, or (when nothing is there) the folder named in the error below.
    localModelPath = path.dirname(asFolder);
    id = path.basename(asFolder);
  } else {
    localModelPath = path.resolve(parsed.localModelPath as string);
    id = parsed.model;
  }
  let directory = path.join(localModelPath, id);
  const isHubDownload = parsed.allowRemote && !existsSync(directory);
  if (isHubDownload) {
    localModelPath = path.resolve(parsed.localModelPath ?? '.');
    id = parsed.model;
    directory = path.join(localModelPath, id);
  } else {
    const missing = missingFiles(directory);
    if (missing.length > 0) {
      throw new ModelFilesError({
        directory,
        message: `missing ${missing.join(', ')}${parsed.allowRemote ? '' : ' (remote loading is off; pass allowRemote: true to download a hub id)'}`,
      });
    }
  }
  try {
    return await withLocalModelPath(localModelPath, parsed.allowRemote, async () => {
      const tokenizer = await AutoTokenizer.from_pretrained(id);
      const model = await AutoModelForCausalLM.from_pretrained(id, {
        dtype: parsed.dtype,
        device: parsed.device,
      });
      return {
        tokenizer: new TransformersTokenizer(tokenizer, {
          ...(parsed.endOfTurnTokenId === undefined
            ? {}
            : { endOfTurnTokenId: parsed.endOfTurnTokenId }),
        }),
        model: new CausalLm(model),
        source: isHubDownload ? id : directory,
      };
    });
  } catch (error) {
    if (ModelFilesError.isInstance(error)) throw error;
    throw new ModelFilesError({
      directory,
      message: `transformers.js could not load it (${(error as Error).message})`,
      cause: error,
    });
  }
}
