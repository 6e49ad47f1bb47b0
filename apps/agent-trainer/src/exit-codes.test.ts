import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CheckpointError, ValidationError } from '@cohort/core';
import { describe, expect, it } from 'vitest';
import { exitCodeFor, formatError, InterruptedError, UsageError } from './exit-codes';
import { loadEnvironmentModule } from './user-module';

describe('exit codes and error lines', () => {
  it('maps errors to codes', () => {
    expect(exitCodeFor(new UsageError('x'))).toBe(2);
    expect(exitCodeFor(new ValidationError({ what: 'config', issues: [] }))).toBe(2);
    expect(exitCodeFor(new CheckpointError({ path: 'p', message: 'bad' }))).toBe(1);
    expect(exitCodeFor(new Error('boom'))).toBe(1);
    expect(exitCodeFor(new InterruptedError())).toBe(130);
  });

  it('prints one line without a stack unless verbose', () => {
    const error = new CheckpointError({
      path: 'runs/a/checkpoints/step-000002',
      message: 'weights.safetensors is damaged\nmore detail',
    });
    expect(formatError(error, { verbose: false })).toBe(
      'agent-trainer: Checkpoint runs/a/checkpoints/step-000002: weights.safetensors is damaged',
    );
    expect(formatError(error, { verbose: true })).toMatch(/\n {4}at /);
    const validation = new ValidationError({
      what: 'config',
      issues: [{ path: 'trainer.lr', message: 'unknown key' }],
    });
    expect(formatError(validation, { verbose: false })).toBe(
      'agent-trainer: invalid config:\n  trainer.lr: unknown key',
    );
  });
});

describe('loadEnvironmentModule', () => {
  it('refuses a module without an environment, naming what it exports', async () => {
    const directory = await mkdtemp(path.join(tmpdir(), 'cohort-module-'));
    const file = path.join(directory, 'not-an-env.mjs');
    await writeFile(file, 'export const answer = 42;\nexport function helper() { return 1; }\n');
    const error = await loadEnvironmentModule(file).catch((caught: unknown) => caught);
    expect(UsageError.isInstance(error)).toBe(true);
    expect((error as Error).message).toBe(
      `${file} does not export an environment: expected an export "environment" or a default export that is an object with name and reset() or a function returning one; it exports answer, helper`,
    );
    await expect(loadEnvironmentModule(path.join(directory, 'missing.ts'))).rejects.toThrow(
      /environment module not found/,
    );
  });

  it('loads an environment object or factory with its scenarios', async () => {
    const directory = await mkdtemp(path.join(tmpdir(), 'cohort-module-'));
    const file = path.join(directory, 'env.mjs');
    await writeFile(
      file,
      "export const scenarios = [{ id: 'a' }];\nexport default () => ({ name: 'echo', async reset() { return { messages: [], async step() { return { reward: 1, done: true }; } }; } });\n",
    );
    const loaded = await loadEnvironmentModule(file);
    expect(loaded.environment.name).toBe('echo');
    expect(loaded.scenarios).toEqual([{ id: 'a' }]);
    expect(loaded.evaluationScenarios).toEqual([]);
  });
});
