import { existsSync } from 'node:fs';
import path from 'node:path';
import { env, pipeline } from '@huggingface/transformers';
import { ModelFilesError } from './model-files-error';

/** Options of {@link loadPipeline}. */
export interface LoadPipelineOptions {
  /** A local model folder, or a hub id when `allowRemote`. */
  model: string;
  allowRemote?: boolean;
  dtype?: 'fp32' | 'fp16' | 'q8' | 'q4';
  device?: 'cpu' | 'gpu' | 'wasm' | 'webgpu';
}

/**
 * Loads a transformers.js pipeline (`feature-extraction`, `text-classification`)
 * from a local folder, offline unless `allowRemote`; a missing folder throws
 * a {@link ModelFilesError} naming it. Sets the global transformers.js `env`
 * for the duration of the load.
 */
export async function loadPipeline(
  task: 'feature-extraction' | 'text-classification',
  options: LoadPipelineOptions,
): Promise<unknown> {
  const folder = path.resolve(options.model);
  const local = existsSync(folder);
  if (!local && !options.allowRemote) {
    throw new ModelFilesError({
      directory: folder,
      message:
        'missing (the folder itself) (remote loading is off; pass allowRemote: true to download a hub id)',
    });
  }
  const previous = { allowRemoteModels: env.allowRemoteModels, localModelPath: env.localModelPath };
  env.allowRemoteModels = options.allowRemote ?? false;
  if (local) env.localModelPath = `${path.dirname(folder)}${path.sep}`;
  try {
    return await pipeline(task, local ? path.basename(folder) : options.model, {
      dtype: options.dtype ?? 'fp32',
      device: options.device ?? 'cpu',
    });
  } catch (error) {
    throw new ModelFilesError({
      directory: local ? folder : options.model,
      message: `transformers.js could not load a ${task} pipeline (${(error as Error).message})`,
      cause: error,
    });
  } finally {
    env.allowRemoteModels = previous.allowRemoteModels;
    env.localModelPath = previous.localModelPath;
  }
}
