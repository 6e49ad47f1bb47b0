import { describe, expect, it } from 'vitest';
import { resolveTrainingOptions } from './grpo-training-options';
import { hyperparametersOfConfig, memberConfig } from './member-config';
import { parsePopulationScheduleOptions } from './population-schedule-options';

describe('memberConfig', () => {
  it('writes each hyperparameter where the trainer reads it', () => {
    const base = resolveTrainingOptions({
      kl: { controller: { type: 'adaptive', initialCoefficient: 0.2, target: 6, horizon: 100 } },
      objective: { preset: 'dapo' },
      steps: 7,
    });
    const config = memberConfig(base, {
      learningRate: 3e-4,
      klCoefficient: 0.07,
      temperature: 0.9,
      entropyCoefficient: 0.02,
      clipRange: 0.15,
    });
    expect(config.optimizer.learningRate).toBe(3e-4);
    expect(config.kl.controller).toEqual({ type: 'fixed', coefficient: 0.07 });
    expect(config.generation.temperature).toBe(0.9);
    expect(config.objective).toMatchObject({
      preset: 'dapo',
      entropyCoefficient: 0.02,
      clipLow: 0.15,
      clipHigh: 0.15,
    });
    expect(config.steps).toBe(7);
    expect(hyperparametersOfConfig(config, ['learningRate', 'klCoefficient', 'clipRange'])).toEqual(
      { learningRate: 3e-4, klCoefficient: 0.07, clipRange: 0.15 },
    );
    expect(hyperparametersOfConfig(base, ['klCoefficient'])).toEqual({ klCoefficient: 0.2 });
  });

  it('refuses a hyperparameter the trainer has no place for, and bad population options, by name', () => {
    expect(() => memberConfig(resolveTrainingOptions({}), { momentum: 0.9 })).toThrow(
      /hyperparameters\.momentum/,
    );
    expect(() => parsePopulationScheduleOptions({ everyEpisodes: 0 })).toThrow(/everyEpisodes/);
    expect(() =>
      parsePopulationScheduleOptions({ everyEpisodes: 8, hyperparameters: { batchSize: {} } }),
    ).toThrow(/hyperparameters/);
    expect(parsePopulationScheduleOptions({ everyEpisodes: 8 })).toMatchObject({
      mode: 'pbt',
      size: 4,
      adoptionMargin: 0.05,
    });
  });
});
