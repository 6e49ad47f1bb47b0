import { ValidationError } from '@cohort/core';
import { parsePopulationScheduleOptions } from '@cohort/trainer';
import { describe, expect, it } from 'vitest';
import { resolveAppConfig } from './app-config';
import { populationScheduleOptions } from './population-config';

function issuesOf(input: unknown): { path: string; message: string }[] {
  try {
    resolveAppConfig(input);
  } catch (error) {
    if (ValidationError.isInstance(error)) return [...error.issues];
    throw error;
  }
  throw new Error('expected a ValidationError');
}

describe('the population section of the app config', () => {
  it('maps schedules, members and ranges onto the population options, and turns the single learner prompt evolution off', () => {
    const config = resolveAppConfig({
      trainer: { seed: 11 },
      population: {
        schedule: ['pbt', 'prompts'],
        members: 6,
        everyEpisodes: 32,
        quantile: 0.5,
        adoptionMargin: 0.1,
        fitnessScenarios: 5,
        hyperparameters: { learningRate: { minimum: 1e-4, maximum: 1e-2, logScale: true } },
      },
    });
    // The default run's prompt evolution would run beside the population: off, unless the file sets it.
    expect(config.trainer.evolution.everyEpisodes).toBe(0);
    const options = parsePopulationScheduleOptions(
      populationScheduleOptions(config.population!, config.trainer.seed),
    );
    expect(options).toMatchObject({
      mode: 'pbt',
      evolvePrompts: true,
      size: 6,
      everyEpisodes: 32,
      quantile: 0.5,
      adoptionMargin: 0.1,
      fitnessScenarios: 5,
      seed: 11,
      hyperparameters: { learningRate: { minimum: 1e-4, maximum: 1e-2, logScale: true } },
    });
    expect(Object.keys(options.hyperparameters)).toEqual(['learningRate']);
    const erl = resolveAppConfig({ population: { schedule: ['erl'], everyEpisodes: 8, seed: 3 } });
    expect(populationScheduleOptions(erl.population!, 0)).toMatchObject({
      mode: 'erl',
      evolvePrompts: false,
      size: 4,
      seed: 3,
    });
  });

  it('refuses schedules that cannot run together, naming the field', () => {
    const both = issuesOf({ population: { schedule: ['pbt', 'erl'], everyEpisodes: 8 } });
    expect(both).toEqual([
      { path: 'population.schedule', message: expect.stringMatching(/combines 'pbt' and 'erl'/) },
    ]);
    const alone = issuesOf({ population: { schedule: ['prompts'], everyEpisodes: 8 } });
    expect(alone[0]).toMatchObject({
      path: 'population.schedule',
      message: expect.stringMatching(/trainer\.evolution/),
    });
    const twice = issuesOf({ population: { schedule: ['pbt', 'pbt'], everyEpisodes: 8 } });
    expect(twice[0]!.message).toMatch(/twice/);
    const selector = issuesOf({
      policy: { type: 'candidate-selector' },
      population: { schedule: ['erl'], everyEpisodes: 8 },
    });
    expect(selector).toEqual([
      {
        path: 'population',
        message: expect.stringMatching(/candidate-selector .* leave population out$/),
      },
    ]);
    // The bandit brings no system prompt, so there is none to evolve.
    const noPrompt = issuesOf({
      environment: { type: 'bandit' },
      population: { schedule: ['pbt', 'prompts'], everyEpisodes: 8 },
    });
    expect(noPrompt[0]).toMatchObject({
      path: 'population.schedule',
      message: expect.stringMatching(/no system prompt/),
    });
    // ERL scored at the members' own temperatures needs them at the learner's (config) values.
    expect(
      issuesOf({
        population: { schedule: ['erl'], everyEpisodes: 8, fitnessTemperature: 'member' },
      }),
    ).toEqual([
      {
        path: 'population.initialHyperparameters',
        message: expect.stringMatching(
          /is 'sample' with mode 'erl' and fitnessTemperature 'member'/,
        ),
      },
    ]);
    const sampled = resolveAppConfig({
      population: {
        schedule: ['erl'],
        everyEpisodes: 8,
        fitnessTemperature: 'member',
        initialHyperparameters: 'config',
      },
    });
    expect(
      parsePopulationScheduleOptions(populationScheduleOptions(sampled.population!, 0)),
    ).toMatchObject({
      mode: 'erl',
      fitnessTemperature: 'member',
      initialHyperparameters: 'config',
    });
    expect(
      resolveAppConfig({
        environment: { type: 'bandit' },
        systemPrompt: 'Pick an arm.',
        population: { schedule: ['pbt', 'prompts'], everyEpisodes: 8 },
      }).population?.schedule,
    ).toEqual(['pbt', 'prompts']);
  });

  it('refuses prompt evolution of the single learner beside a population, and bad fields by name', () => {
    expect(
      issuesOf({ trainer: { evolution: { everyEpisodes: 40 } }, population: { everyEpisodes: 8 } }),
    ).toEqual([
      { path: 'trainer.evolution.everyEpisodes', message: expect.stringMatching(/is 40/) },
    ]);
    expect(
      issuesOf({ evolution: { prompts: ['Be kind.'] }, population: { everyEpisodes: 8 } })[0]!.path,
    ).toBe('evolution.prompts');
    expect(issuesOf({ population: { everyEpisodes: 8, members: 1 } })[0]!.path).toBe(
      'population.members',
    );
    expect(issuesOf({ population: {} })[0]!.path).toBe('population.everyEpisodes');
    expect(issuesOf({ population: { everyEpisodes: 8, mode: 'pbt' } })[0]).toMatchObject({
      path: 'population.mode',
    });
    expect(
      issuesOf({
        population: { everyEpisodes: 8, hyperparameters: { momentum: { minimum: 0, maximum: 1 } } },
      })[0]!.path,
    ).toMatch(/^population\.hyperparameters/);
  });
});
