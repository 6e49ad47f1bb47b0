import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type AppConfig, resolveAppConfig } from '../app-config';

/**
 * A run directory holding only `config.resolved.json`, resolved from `input`
 * as `train` resolves a config file: what `chat`, `export`, `eval` and the
 * console read before anything else.
 */
export async function writeRunConfig(
  directory: string,
  input: Record<string, unknown>,
): Promise<AppConfig> {
  const config = resolveAppConfig(input);
  await mkdir(directory, { recursive: true });
  await writeFile(path.join(directory, 'config.resolved.json'), JSON.stringify(config));
  return config;
}
