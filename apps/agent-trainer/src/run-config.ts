import { readFile } from 'node:fs/promises';
import { CheckpointError, ValidationError } from '@cohort/core';
import { type AppConfig, type AppConfigOverrides, resolveAppConfig } from './app-config';
import { UsageError } from './exit-codes';
import { runPaths } from './run-directory';

/**
 * The config a run was started with (`config.resolved.json`), validated as it
 * is, then with `overrides` applied. A missing file means "not a run
 * directory" ({@link UsageError}, exit 2); a file that is not JSON or not a
 * valid config is a damaged run ({@link CheckpointError} naming the file,
 * exit 1); an override that makes it invalid is the user's (ValidationError,
 * exit 2).
 *
 * @example
 * ```ts
 * const config = await readRunConfig('runs/20250101-120000-support', { steps: 200 });
 * ```
 */
export async function readRunConfig(
  runDirectory: string,
  overrides: AppConfigOverrides = {},
): Promise<AppConfig> {
  const configPath = runPaths(runDirectory).config;
  let text: string;
  try {
    text = await readFile(configPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new UsageError(`not a run directory: ${configPath} not found`);
    }
    throw new CheckpointError({
      path: configPath,
      message: `cannot read the run's config: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      cause: error,
    });
  }
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch (error) {
    throw new CheckpointError({
      path: configPath,
      message: `the run's config is damaged: not JSON (${(error as Error).message.split('\n')[0]})`,
      cause: error,
    });
  }
  try {
    resolveAppConfig(input);
  } catch (error) {
    if (!ValidationError.isInstance(error)) throw error;
    const first = error.issues[0];
    throw new CheckpointError({
      path: configPath,
      message: `the run's config is damaged: ${first ? `${first.path || '(root)'}: ${first.message}` : 'invalid'}${error.issues.length > 1 ? ` (and ${error.issues.length - 1} more)` : ''}`,
      cause: error,
    });
  }
  return resolveAppConfig(input, overrides);
}

/** The user modules a config imports: its environment module and its reward modules. */
export function configModules(config: AppConfig): string[] {
  return [
    ...(config.environment.type === 'module' ? [config.environment.module] : []),
    ...config.rewards.flatMap((reward) => (reward.type === 'module' ? [reward.module] : [])),
  ];
}

/**
 * Refuses to import modules named in a run folder's stored config unless the
 * user says they trust them: a run folder received from someone else would
 * otherwise run their code. Modules the user named on this command line
 * (`--environment`) are theirs.
 */
export function assertRunModulesTrusted(options: {
  config: AppConfig;
  runDirectory: string;
  trusted: boolean;
  namedOnCommandLine?: readonly string[];
}): void {
  if (options.trusted) return;
  const named = new Set(options.namedOnCommandLine ?? []);
  const modules = configModules(options.config).filter((module) => !named.has(module));
  if (modules.length === 0) return;
  throw new UsageError(
    `the run ${options.runDirectory} imports ${modules.length === 1 ? 'a module' : 'modules'} named in its config.resolved.json (${modules.join(', ')}); importing runs that code, so it is not done for a run folder you may have received from someone else: check the modules and pass --trust-run-modules`,
  );
}
