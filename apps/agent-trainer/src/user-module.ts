import { stat } from 'node:fs/promises';
import { register } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Environment, RewardFunction } from '@cohort/core';
import { environmentWithTimeout, rewardWithTimeout } from '@cohort/trainer';
import { UsageError } from './exit-codes';

/** Options of the module loaders. */
export interface UserModuleOptions {
  /** Every call into the module's environment and rewards must settle within this (default: no limit). */
  timeoutSeconds?: number;
}

/** What a user's environment module provides. */
export interface EnvironmentModule {
  environment: Environment<unknown>;
  /** Training scenarios: the module's `scenarios` export. */
  scenarios: unknown[];
  /** Held-out scenarios: the module's `evaluationScenarios` export (default: none). */
  evaluationScenarios: unknown[];
  /** Reward functions: the module's `rewards` export (default: none; the config's rewards apply). */
  rewards: RewardFunction<unknown>[];
}

function isEnvironment(value: unknown): value is Environment<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { reset?: unknown }).reset === 'function' &&
    typeof (value as { name?: unknown }).name === 'string'
  );
}

function isRewardFunction(value: unknown): value is RewardFunction<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { score?: unknown }).score === 'function' &&
    typeof (value as { name?: unknown }).name === 'string'
  );
}

let hooksRegistered = false;

/**
 * Registers `user-module-hooks.js` once, so that `@cohort/*` imports of user
 * modules resolve from this app's installation wherever the module lives.
 */
function registerUserModuleHooks(): void {
  if (hooksRegistered) return;
  hooksRegistered = true;
  register(new URL('./user-module-hooks.js', import.meta.url), {
    data: { appUrl: import.meta.url },
  });
}

const typeScriptExtension = /\.(?:ts|mts|cts|tsx)$/;

/**
 * Imports a TypeScript module. Running from source, this process already
 * compiles TypeScript (tsx in the workspace, vitest in tests); the built app
 * uses tsx's API, a dependency of the app for exactly this.
 */
async function importTypeScript(url: string): Promise<unknown> {
  if (import.meta.url.endsWith('.ts')) return import(url);
  const { tsImport } = await import('tsx/esm/api');
  return tsImport(url, import.meta.url);
}

/**
 * Imports a user's module (JavaScript or TypeScript, from anywhere on disk)
 * and returns its exports. Its `@cohort/*` imports resolve to the packages
 * this app runs on, also when the module lives outside any project that
 * installs them. A missing file or a module that fails to load throws
 * {@link UsageError} with one line.
 */
export async function importUserModule(
  modulePath: string,
  what: string,
): Promise<Record<string, unknown>> {
  const absolute = path.resolve(modulePath);
  try {
    await stat(absolute);
  } catch {
    throw new UsageError(`${what} module not found: ${modulePath}`);
  }
  try {
    registerUserModuleHooks();
    const url = pathToFileURL(absolute).href;
    return (await (typeScriptExtension.test(absolute)
      ? importTypeScript(url)
      : import(url))) as Record<string, unknown>;
  } catch (error) {
    const detail = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new UsageError(`cannot load ${what} module ${modulePath}: ${detail}`, { cause: error });
  }
}

/**
 * Loads a custom environment from a user's module. The environment is the
 * export named `exportName`, else `environment`, else the default export;
 * it may be an {@link Environment} (an object with `name` and `reset()`) or a
 * function that returns one (sync or async). The module should also export
 * `scenarios` (an array), and may export `evaluationScenarios` and `rewards`.
 * A module without an environment throws {@link UsageError}: one line that
 * names the module and lists what it does export.
 *
 * @example
 * ```ts
 * const { environment, scenarios } = await loadEnvironmentModule('./my-env.ts');
 * ```
 */
export async function loadEnvironmentModule(
  modulePath: string,
  exportName?: string,
  options: UserModuleOptions = {},
): Promise<EnvironmentModule> {
  const exports = await importUserModule(modulePath, 'environment');
  const candidates = exportName ? [exportName] : ['environment', 'default'];
  let environment: Environment<unknown> | undefined;
  let environmentExport = '';
  for (const name of candidates) {
    let value = exports[name];
    if (typeof value === 'function' && !isEnvironment(value)) {
      try {
        value = await (value as () => unknown)();
      } catch (error) {
        throw new UsageError(
          `environment factory ${name}() of ${modulePath} threw: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`,
          { cause: error },
        );
      }
    }
    if (isEnvironment(value)) {
      environment = value;
      environmentExport = name;
      break;
    }
  }
  const found = Object.keys(exports).filter((key) => key !== '__esModule');
  if (!environment) {
    throw new UsageError(
      `${modulePath} does not export an environment: expected ${exportName ? `an export "${exportName}"` : 'an export "environment" or a default export'} that is an object with name and reset() or a function returning one; it exports ${found.length ? found.join(', ') : 'nothing'}`,
    );
  }
  const scenarios = exports.scenarios;
  if (!Array.isArray(scenarios) || scenarios.length === 0) {
    throw new UsageError(
      `${modulePath} exports an environment but no "scenarios" array (the training scenarios it needs)`,
    );
  }
  const evaluationScenarios = exports.evaluationScenarios ?? [];
  if (!Array.isArray(evaluationScenarios)) {
    throw new UsageError(`${modulePath}: "evaluationScenarios" must be an array`);
  }
  const rewards = exports.rewards ?? [];
  if (!Array.isArray(rewards) || !rewards.every(isRewardFunction)) {
    throw new UsageError(
      `${modulePath}: "rewards" must be an array of reward functions (each with name and score())`,
    );
  }
  const seconds = options.timeoutSeconds;
  if (seconds === undefined) return { environment, scenarios, evaluationScenarios, rewards };
  return {
    environment: environmentWithTimeout(environment, {
      call: `environment "${environment.name}" (export ${environmentExport} of ${modulePath})`,
      seconds,
    }),
    scenarios,
    evaluationScenarios,
    rewards: rewards.map((reward, index) =>
      rewardWithTimeout(reward, {
        call: `reward "${reward.name}" (export rewards[${index}] of ${modulePath})`,
        seconds,
      }),
    ),
  };
}

/**
 * Loads a reward function from a user's module: the export `exportName`,
 * else `reward`, else the default export; a function returning a reward is
 * called. Throws {@link UsageError} when there is none.
 */
export async function loadRewardModule(
  modulePath: string,
  exportName?: string,
  options: UserModuleOptions = {},
): Promise<RewardFunction<unknown>> {
  const exports = await importUserModule(modulePath, 'reward');
  for (const name of exportName ? [exportName] : ['reward', 'default']) {
    let value = exports[name];
    if (typeof value === 'function') value = await (value as () => unknown)();
    if (isRewardFunction(value)) {
      if (options.timeoutSeconds === undefined) return value;
      return rewardWithTimeout(value, {
        call: `reward "${value.name}" (export ${name} of ${modulePath})`,
        seconds: options.timeoutSeconds,
      });
    }
  }
  throw new UsageError(
    `${modulePath} does not export a reward function: expected ${exportName ? `"${exportName}"` : '"reward" or a default export'} with name and score(); it exports ${Object.keys(exports).join(', ') || 'nothing'}`,
  );
}
