import { InvalidArgumentError, NonFiniteError, ValidationError } from '@cohort/core';
import { describe, expect, it } from 'vitest';
import { mixReferenceWeights, planReferenceRefresh } from './reference-refresh';

describe('mixReferenceWeights', () => {
  it('computes alpha * policy + (1 - alpha) * reference without touching the inputs', () => {
    const reference = { a: new Float32Array([1, 2]), b: new Float32Array([-4]) };
    const policy = { a: new Float32Array([3, 0]), b: new Float32Array([4]) };
    const mixed = mixReferenceWeights({ reference, policy, alpha: 0.25 });
    expect(Array.from(mixed.a!)).toEqual([1.5, 1.5]);
    expect(Array.from(mixed.b!)).toEqual([-2]);
    expect(Array.from(reference.a)).toEqual([1, 2]);
    const copy = mixReferenceWeights({ reference, policy, alpha: 1 });
    expect(Array.from(copy.a!)).toEqual([3, 0]);
    expect(copy.a).not.toBe(policy.a);
    expect(Array.from(mixReferenceWeights({ reference, policy, alpha: 0 }).b!)).toEqual([-4]);
  });

  it('rejects mismatched names or lengths, bad alpha and non-finite results', () => {
    const reference = { a: new Float32Array([1, 2]) };
    expect(() =>
      mixReferenceWeights({ reference, policy: { b: new Float32Array(2) }, alpha: 0.5 }),
    ).toThrow(/missing: a; extra: b/);
    expect(() =>
      mixReferenceWeights({ reference, policy: { a: new Float32Array(3) }, alpha: 0.5 }),
    ).toThrow(/policy.a.*length of reference.a: 2, got 3/);
    expect(() => mixReferenceWeights({ reference, policy: reference, alpha: 1.5 })).toThrow(
      InvalidArgumentError,
    );
    expect(() =>
      mixReferenceWeights({
        reference,
        policy: { a: new Float32Array([Number.NaN, 0]) },
        alpha: 0.5,
      }),
    ).toThrow(NonFiniteError);
  });
});

describe('planReferenceRefresh', () => {
  it('refreshes on multiples of everySteps with the right alpha', () => {
    const steps = [1, 2, 3, 4, 5, 6, 7, 8];
    expect(steps.map((step) => planReferenceRefresh({ mode: 'none' }, step).refresh)).toEqual(
      steps.map(() => false),
    );
    expect(
      steps.map((step) => planReferenceRefresh({ mode: 'hard', everySteps: 4 }, step)),
    ).toEqual([
      { refresh: false },
      { refresh: false },
      { refresh: false },
      { refresh: true, alpha: 1 },
      { refresh: false },
      { refresh: false },
      { refresh: false },
      { refresh: true, alpha: 1 },
    ]);
    expect(planReferenceRefresh({ mode: 'mix', alpha: 0.6, everySteps: 1 }, 3)).toEqual({
      refresh: true,
      alpha: 0.6,
    });
  });

  it('validates the schedule and the step', () => {
    expect(() => planReferenceRefresh({ mode: 'mix', alpha: 2, everySteps: 1 }, 1)).toThrow(
      ValidationError,
    );
    expect(() => planReferenceRefresh({ mode: 'hard', everySteps: 0 }, 1)).toThrow(/everySteps/);
    expect(() => planReferenceRefresh({ mode: 'hard', everySteps: 2 }, 0)).toThrow(/step = 0/);
  });
});
