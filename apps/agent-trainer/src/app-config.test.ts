import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ValidationError } from '@cohort/core';
import { describe, expect, it } from 'vitest';
import { defaultAppConfigInput, readConfigFile, resolveAppConfig } from './app-config';
import { candidateSelectorWarnings } from './candidate-selector-setup';
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
      'allowed keys: name, preset, trainer, policy, engine, environment, rewards, systemPrompt, evolution, population, backend',
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

  it('resolves a config without a preset exactly as the no-config default run (KL, checkpoints and evolution on)', () => {
    const fromNothing = resolveAppConfig(defaultAppConfigInput);
    const fromEmptyFile = resolveAppConfig({});
    expect(fromEmptyFile).toEqual(fromNothing);
    expect(fromEmptyFile.preset).toBe('balanced');
    expect(fromEmptyFile.trainer.kl.controller).toEqual({ type: 'fixed', coefficient: 0.01 });
    expect(fromEmptyFile.trainer.checkpoint.everySteps).toBe(10);
    expect(resolveAppConfig({ trainer: { steps: 5 } }).trainer.evolution.everyEpisodes).toBe(80);
  });

  it("refuses unknown keys that another package's schema would drop (trainer.kl.controller)", () => {
    expect(
      issuesOf({ trainer: { kl: { controller: { type: 'fixed', coefficient: 0, typo: 1 } } } }),
    ).toEqual([
      {
        path: 'trainer.kl.controller.typo',
        message: 'unknown key; allowed keys: type, coefficient',
      },
    ]);
  });

  it('bounds every size by what the machine can hold, naming the field', () => {
    const issues = issuesOf({
      trainer: { steps: 1e9, groupSize: 1e9, generation: { maxNewTokens: 1e9 } },
    });
    expect(issues.map((issue) => issue.path)).toEqual([
      'trainer.steps',
      'trainer.groupSize',
      'trainer.generation.maxNewTokens',
    ]);
    expect(issues[0]!.message).toBe('must be at most 1000000, got 1000000000');
    expect(issuesOf({ trainer: { scenariosPerStep: 1000, groupSize: 1000 } })[0]).toMatchObject({
      path: 'trainer.groupSize',
      message: expect.stringMatching(/episodes per step/),
    });
  });

  it('refuses maxNewTokens that leaves no room for a prompt (160 of 256 is checked against the prompts at run setup)', () => {
    expect(issuesOf({ trainer: { generation: { maxNewTokens: 256 } } })[0]).toEqual({
      path: 'trainer.generation.maxNewTokens',
      message:
        'must be less than trainer.maxSequenceLength (256) to leave room for a prompt, got 256',
    });
  });

  it('refuses a regex reward whose pattern does not compile, naming it', () => {
    expect(issuesOf({ rewards: [{ type: 'regex', options: { pattern: 'refund (' } }] })).toEqual([
      {
        path: 'rewards.0.options.pattern',
        message: expect.stringMatching(/^is not a valid regular expression: .*refund \(/),
      },
    ]);
  });

  it('turns --environment into a module environment with an absolute path', () => {
    const config = resolveAppConfig({}, { environmentModule: 'my-env.ts' });
    expect(config.environment).toEqual({ type: 'module', module: path.resolve('my-env.ts') });
  });

  it('puts --model in the field each policy type reads its model folder from, keeping the rest', () => {
    const model = path.resolve('models/tiny-qwen2');
    expect(resolveAppConfig({}, { model: 'models/tiny-qwen2' }).policy).toEqual({
      type: 'tfjs-lm',
      modelDirectory: model,
    });
    const lora = { rank: 4, alpha: 8, targets: ['q_proj', 'v_proj'] };
    expect(
      resolveAppConfig(
        { policy: { type: 'tfjs-lm', modelDirectory: 'elsewhere', lora } },
        { model: 'models/tiny-qwen2' },
      ).policy,
    ).toMatchObject({ type: 'tfjs-lm', modelDirectory: model, lora: { rank: 4, alpha: 8 } });
    expect(
      resolveAppConfig({ policy: { type: 'proxy' } }, { model: 'models/tiny-qwen2' }).policy,
    ).toMatchObject({ type: 'proxy', baseModelDirectory: model });
  });
});

describe('the candidate-selector policy', () => {
  it('fills its defaults and names what a candidate-selector run would not use', () => {
    const config = resolveAppConfig({
      policy: { type: 'candidate-selector', candidates: 3 },
      trainer: { steps: 5, groupSize: 8, evolution: { everyEpisodes: 0 } },
    });
    expect(config.policy).toEqual({
      type: 'candidate-selector',
      candidates: 3,
      updateEvery: 8,
      samplesPerQuery: 4,
      advantage: 'group',
      featureDimension: 256,
      hiddenSize: 32,
      epochs: 4,
      learningRate: 0.01,
      klCoefficient: 0.01,
    });
    // steps applies; groupSize does not; turning evolution off is no news.
    expect(candidateSelectorWarnings(config)).toEqual([
      'trainer.groupSize does not apply to the candidate-selector policy (it trains a small actor)',
    ]);
    expect(() =>
      resolveAppConfig({ policy: { type: 'candidate-selector', candidates: 1 } }),
    ).toThrow(/policy\.candidates/);
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

  it('refuses an empty, null or comment-only file, duplicate keys and unknown YAML tags, naming file and position', async () => {
    const directory = await mkdtemp(path.join(tmpdir(), 'cohort-config-'));
    const refusal = async (name: string, text: string) => {
      const file = path.join(directory, name);
      await writeFile(file, text);
      const error = await readConfigFile(file).catch((caught: unknown) => caught);
      expect(UsageError.isInstance(error), String(error)).toBe(true);
      return (error as Error).message.replace(directory + path.sep, '');
    };
    for (const [name, text] of [
      ['empty.yaml', ''],
      ['comments.yaml', '# nothing here\n# yet\n'],
      ['null.yaml', 'null\n'],
      ['null.json', 'null'],
    ] as const) {
      expect(await refusal(name, text)).toMatch(new RegExp(`^config file ${name}: is empty`));
    }
    expect(await refusal('twice.json', '{"trainer": {"steps": 3, "steps": 4}}')).toBe(
      'config file twice.json line 1 column 26: duplicate key (each key may appear once)',
    );
    expect(await refusal('twice.yaml', 'trainer:\n  steps: 3\n  steps: 4\n')).toBe(
      'config file twice.yaml line 3 column 3: duplicate key (each key may appear once)',
    );
    expect(await refusal('tag.yaml', 'trainer:\n  steps: !custom 3\n')).toMatch(
      /^config file tag\.yaml line 2 column \d+: YAML tag !custom is not allowed/,
    );
    expect(await refusal('binary.yaml', 'systemPrompt: !!binary aGk=\n')).toMatch(
      /^config file binary\.yaml line 1 column \d+: YAML tag tag:yaml.org,2002:binary is not allowed/,
    );
    expect(await refusal('list.yaml', '- 1\n')).toBe(
      'config file list.yaml: must be a mapping of keys to values at the top, got a list',
    );
  });
});
