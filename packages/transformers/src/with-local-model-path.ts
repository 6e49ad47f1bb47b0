import path from 'node:path';
import { env } from '@huggingface/transformers';

/**
 * Runs `load` with transformers.js's global `env` pointed at a local folder
 * (`env.localModelPath`, local models allowed, remote models as given), and
 * restores the previous settings afterwards, so loads stay offline unless
 * asked. Run such loads one at a time: `env` is shared.
 */
export async function withLocalModelPath<T>(
  localModelPath: string,
  allowRemote: boolean,
  load: () => Promise<T>,
): Promise<T> {
  const previous = { allowRemoteModels: env.allowRemoteModels, localModelPath: env.localModelPath };
  env.allowRemoteModels = allowRemote;
  env.allowLocalModels = true;
  env.localModelPath = localModelPath.endsWith(path.sep)
    ? localModelPath
    : `${localModelPath}${path.sep}`;
  try {
    return await load();
  } finally {
    env.allowRemoteModels = previous.allowRemoteModels;
    env.localModelPath = previous.localModelPath;
  }
}
