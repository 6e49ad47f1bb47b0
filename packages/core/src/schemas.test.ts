import { describe, expect, it } from 'vitest';
import { CheckpointManifestSchema } from './checkpoint';
import { ValidationError } from './errors';
import { ScenarioSchema } from './scenario';
import { TrajectorySchema } from './trajectory';
import { assertFiniteArray, assertInRange, assertInteger, parseWithSchema } from './validate';

const scenario = {
  id: 'refund-1',
  category: 'refunds',
  persona: 'A polite customer',
  goal: 'Get a refund for order 1234',
  successCriteria: [{ id: 'refund', description: 'offers a refund', anyOf: ['refund'] }],
  maxTurns: 4,
  user: { opening: 'My order 1234 arrived broken.' },
};

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(ValidationError.isInstance(error)).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected a ValidationError');
}

describe('ScenarioSchema', () => {
  it('accepts a valid scenario and fills defaults', () => {
    const parsed = parseWithSchema(ScenarioSchema, scenario, 'scenario');
    expect(parsed.split).toBe('train');
    expect(parsed.context).toBe('');
    expect(parsed.user.patience).toBe(3);
    expect(parsed.successCriteria[0]!.weight).toBe(1);
  });

  it('names the bad field of an invalid scenario', () => {
    expect(
      messageOf(() => parseWithSchema(ScenarioSchema, { ...scenario, maxTurns: 0 }, 'scenario')),
    ).toMatch(/Invalid scenario:\n {2}- maxTurns: Too small/);
    expect(
      messageOf(() =>
        parseWithSchema(
          ScenarioSchema,
          { ...scenario, successCriteria: [{ id: 'x', description: 'y' }] },
          'scenario',
        ),
      ),
    ).toMatch(/successCriteria\.0: needs at least one of anyOf, allOf or pattern/);
    expect(
      messageOf(() => parseWithSchema(ScenarioSchema, { ...scenario, colour: 'red' }, 'scenario')),
    ).toMatch(/colour/);
    expect(
      messageOf(() => parseWithSchema(ScenarioSchema, { ...scenario, split: 'test' }, 'scenario')),
    ).toMatch(/split: .*"train"\|"eval"|split: Invalid option/);
  });
});

describe('TrajectorySchema', () => {
  const trajectory = {
    id: 't1',
    scenarioId: 'refund-1',
    seed: 3,
    policyVersion: 0,
    messages: [{ role: 'user', content: 'hi' }],
    turns: [{ role: 'user', content: 'hi', tokenStart: 0, tokenEnd: 2 }],
    tokenIds: [5, 6, 7],
    lossMask: [0, 0, 1],
    behaviorLogProbs: [0, 0, -1.5],
    rewardsPerTurn: [1],
    rewardsByFunction: { goal: 1, format: null },
    totalReward: 1,
    endReason: 'success',
    truncated: false,
    temperature: 1,
  };

  it('round-trips through JSON', () => {
    const parsed = parseWithSchema(
      TrajectorySchema,
      JSON.parse(JSON.stringify(trajectory)),
      'trajectory',
    );
    expect(parsed.turns[0]!.reward).toBeNull();
    expect(parsed.rewardsByFunction.format).toBeNull();
  });

  it('refuses misaligned arrays, naming the field and the lengths', () => {
    expect(
      messageOf(() =>
        parseWithSchema(TrajectorySchema, { ...trajectory, lossMask: [0, 1] }, 'trajectory'),
      ),
    ).toMatch(/lossMask: has length 2, expected tokenIds.length = 3/);
    expect(
      messageOf(() =>
        parseWithSchema(TrajectorySchema, { ...trajectory, lossMask: [0, 2, 1] }, 'trajectory'),
      ),
    ).toMatch(/lossMask\.1/);
  });
});

describe('CheckpointManifestSchema', () => {
  it('accepts a manifest and refuses a malformed hash', () => {
    const manifest = {
      format: 'cohort-checkpoint',
      formatVersion: 1,
      step: 10,
      createdAt: '2026-01-01T00:00:00.000Z',
      files: { 'model.safetensors': { sha256: 'a'.repeat(64), bytes: 10 } },
    };
    expect(parseWithSchema(CheckpointManifestSchema, manifest, 'manifest').metadata).toEqual({});
    expect(
      messageOf(() =>
        parseWithSchema(
          CheckpointManifestSchema,
          { ...manifest, files: { 'model.safetensors': { sha256: 'xyz', bytes: 1 } } },
          'manifest',
        ),
      ),
    ).toMatch(/files\.model\.safetensors\.sha256/);
  });
});

describe('assertions', () => {
  it('name the element and the value', () => {
    expect(() => assertFiniteArray('rewards', [1, 2, Number.POSITIVE_INFINITY])).toThrowError(
      'rewards[2] is Infinity; expected a finite number',
    );
    expect(() => assertInteger('groupSize', 1.5)).toThrowError(
      'Invalid argument groupSize = 1.5: must be an integer >= 1',
    );
    expect(() => assertInRange('lambda', 2, 0, 1)).toThrowError(
      /lambda = 2: must be a finite number in \[0, 1\]/,
    );
    expect(() => assertFiniteArray('rewards', [])).not.toThrow();
  });
});
