import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { CheckpointError } from '@cohort/core';
import { writeFileAtomic } from '../atomic-file';
import { BpeTokenizer } from './bpe-tokenizer';

/**
 * Writes {@link BpeTokenizer.toFiles} (`tokenizer.json`,
 * `tokenizer_config.json`, `special_tokens_map.json`) into `directory`, each
 * file atomically. Node only: it lives in `@cohort/tfjs/node`.
 *
 * @example
 * ```ts
 * await saveBpeTokenizer(trainBpeTokenizer({ texts: ['hello world'], vocabSize: 280 }), 'models/mine');
 * ```
 */
export async function saveBpeTokenizer(tokenizer: BpeTokenizer, directory: string): Promise<void> {
  for (const [name, text] of Object.entries(tokenizer.toFiles()))
    await writeFileAtomic(path.join(directory, name), text);
}

/**
 * Reads `tokenizer.json` from a folder written by {@link saveBpeTokenizer}
 * (or any byte-level BPE with ChatML tokens). A missing or malformed file
 * throws `CheckpointError` naming it. Node only: it lives in `@cohort/tfjs/node`.
 *
 * @example
 * ```ts
 * const tokenizer = await loadBpeTokenizer('models/mine');
 * ```
 */
export async function loadBpeTokenizer(directory: string): Promise<BpeTokenizer> {
  const file = path.join(directory, 'tokenizer.json');
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new CheckpointError({
      path: file,
      message: 'cannot read tokenizer.json as JSON',
      cause: error,
    });
  }
  return BpeTokenizer.fromTokenizerJson(json);
}
