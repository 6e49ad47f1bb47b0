import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ValidationError } from '@cohort/core';
import { describe, expect, it } from 'vitest';
import { defaultAppConfigInput, readConfigFile, resolveAppConfig } from './app-config';
import { UsageError } from './exit-codes';

function issuesOf(input: unknown, overrides = {}): { path: string; message: string }[] {
  try {
    resolveAppConfig(input, overrides);
  } catch (error) {
    if (ValidationError.isInstance(error)) return [...error.issues];
    throw error;
  }
  throw new Error('expected a ValidationError');
}

describe('resolveAppConfig', () => {
  it('fills defaults and merges the preset under the file, the file under --steps', () => {
    const config = resolveAppConfig(
      { preset: 'conservative', trainer: { steps: 7, optimizer: { maxGradNorm: 2 } } },
      { steps: 9 },
    );
    expect(config.trainer.steps).toBe(9);
    // From the conservative preset, not overridden by the file.
    expect(config.trainer.optimizer.learningRate).toBe(2e-5);
    expect(config.trainer.kl.controller).toMatchObject({ type: 'fixed', coefficient: 0.04 });
    // The file's own value wins over the preset's 0.5.
    expect(config.trainer.optimizer.maxGradNorm).toBe(2);
    expect(config.policy).toEqual({ type: 'tfjs-lm' });
    expect(config.environment).toEqual({
      type: 'support',
      turnReward: 'none',
      includeContext: true,
    });
    expect(config.rewards.map((reward) => reward.type)).toEqual(['goal-completion', 'format']);
  });

  it('lets --preset replace the file preset', () => {
    const config = resolveAppConfig({ preset: 'conservative' }, { preset: 'aggressive' });
    expect(config.preset).toBe('aggressive');
    expect(config.trainer.dynamicSampling.enabled).toBe(true);
  });

  it('accepts the built-in default run', () => {
    const config = resolveAppConfig(defaultAppConfigInput);
    expect(config.trainer.steps).toBe(defaultAppConfigInput.trainer.steps);
    expect(config.trainer.evolution.everyEpisodes).toBeGreaterThan(0);
  });

  it('refuses an unknown key with its path and the allowed keys', () => {
    const issues = issuesOf({ trainer: { optimizer: { lr: 0.1 } } });
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toBe('trainer.optimizer.lr');
    expect(issues[0]!.message).toMatch(
      /^unknown key; allowed keys: type, learningRate, beta1, beta2, epsilon, weightDecay, decayVectors, maxGradNorm, schedule$/,
    );
    const top = issuesOf({ trainr: {} });
    expect(top[0]!.path).toBe('trainr');
    expect(top[0]!.message).toContain(
      'allowed keys: name, preset, trainer, policy, environment, rewards, systemPrompt, evolution, backend',
    );
  });

  it('lists the keys of the chosen union member', () => {
    const issues = issuesOf({ policy: { type: 'proxy', baseModelDirectory: 'm', model: 'x' } });
    expect(issues[0]!.path).toBe('policy.model');
    expect(issues[0]!.message).toBe('unknown key; allowed keys: type, baseModelDirectory, delta');
    const reward = issuesOf({ rewards: [{ type: 'format', weight: 1, wieght: 2 }] });
    expect(reward[0]!.path).toBe('rewards.0.wieght');
    expect(reward[0]!.message).toBe('unknown key; allowed keys: type, weight, options');
  });

  it('names wrong types, out-of-range values and bad choices with what is allowed', () => {
    const wrongType = issuesOf({ trainer: { groupSize: 'eight' } });
    expect(wrongType[0]).toEqual({
      path: 'trainer.groupSize',
      message: expect.stringMatching(/expected number, received string/),
    });
    const range = issuesOf({ trainer: { groupSize: 1 } });
    expect(range[0]!.path).toBe('trainer.groupSize');
    expect(range[0]!.message).toMatch(/>=2/);
    const choice = issuesOf({
      environment: { type: 'support', categories: ['refunds', 'billing'] },
    });
    expect(choice[0]!.path).toBe('environment.categories.1');
    expect(choice[0]!.message).toMatch(/"refunds"\|"shipping"\|"technical"\|"account"/);
    const discriminator = issuesOf({ policy: { type: 'gpt' } });
    expect(discriminator[0]!.path).toBe('policy.type');
    expect(discriminator[0]!.message).toMatch(/'tfjs-lm' \| 'proxy' \| 'candidate-selector'/);
    const preset = issuesOf({ preset: 'fast' });
    expect(preset[0]!.path).toBe('preset');
    expect(preset[0]!.message).toMatch(/"conservative"\|"balanced"\|"aggressive"/);
  });

  it('refuses a config that is not an object', () => {
    expect(issuesOf([1, 2])[0]).toEqual({
      path: '',
      message: 'must be an object (a mapping of keys to values)',
    });
  });

  it('turns --environment into a module environment with an absolute path', () => {
    const config = resolveAppConfig({}, { environmentModule: 'my-env.ts' });
    expect(config.environment).toEqual({ type: 'module', module: path.resolve('my-env.ts') });
  });
});

describe('readConfigFile', () => {
  it('reads YAML and JSON and resolves module paths against the file', async () => {
    const directory = await mkdtemp(path.join(tmpdir(), 'cohort-config-'));
    const yamlPath = path.join(directory, 'run.yaml');
    await writeFile(
      yamlPath,
      [
        'name: my-run',
        'preset: balanced',
        'trainer:',
        '  steps: 3',
        'environment:',
        '  type: module',
        '  module: ./env.ts',
        'rewards:',
        '  - type: goal-completion',
        '    weight: 1',
      ].join('\n'),
    );
    const config = resolveAppConfig(await readConfigFile(yamlPath));
    expect(config.name).toBe('my-run');
    expect(config.trainer.steps).toBe(3);
    expect(config.environment).toEqual({ type: 'module', module: path.join(directory, 'env.ts') });
    const jsonPath = path.join(directory, 'run.json');
    await writeFile(jsonPath, JSON.stringify({ trainer: { steps: 4 } }));
    expect(resolveAppConfig(await readConfigFile(jsonPath)).trainer.steps).toBe(4);
  });

  it('reports a missing or unparsable file as a usage error', async () => {
    const directory = await mkdtemp(path.join(tmpdir(), 'cohort-config-'));
    await expect(readConfigFile(path.join(directory, 'nope.yaml'))).rejects.toThrow(
      /config file not found: .*nope\.yaml/,
    );
    const broken = path.join(directory, 'broken.json');
    await writeFile(broken, '{ "trainer": ');
    const error = await readConfigFile(broken).catch((caught: unknown) => caught);
    expect(UsageError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/is not valid JSON/);
    const badYaml = path.join(directory, 'bad.yaml');
    await writeFile(badYaml, 'trainer:\n  steps: [1, 2\n');
    await expect(readConfigFile(badYaml)).rejects.toThrow(/is not valid YAML/);
  });
});
