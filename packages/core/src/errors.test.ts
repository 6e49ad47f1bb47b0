import { describe, expect, it } from 'vitest';
import {
  CheckpointError,
  CohortError,
  InvalidArgumentError,
  NonFiniteError,
  ValidationError,
} from './errors';

describe('errors', () => {
  it('names the argument and the value', () => {
    const error = new InvalidArgumentError({
      argument: 'groupSize',
      value: 0,
      message: 'must be a positive integer',
    });
    expect(error.message).toBe('Invalid argument groupSize = 0: must be a positive integer');
    expect(error.name).toBe('InvalidArgumentError');
  });

  it('recognizes instances through the Symbol.for marker, across copies of the class', () => {
    const error = new NonFiniteError({ quantity: 'rewards[2]', value: Number.NaN });
    expect(NonFiniteError.isInstance(error)).toBe(true);
    expect(CohortError.isInstance(error)).toBe(true);
    expect(InvalidArgumentError.isInstance(error)).toBe(false);
    // What a second install of @cohort/core would throw: a plain object carrying the markers.
    const foreign = {
      [Symbol.for('cohort.error')]: true,
      [Symbol.for('cohort.error.checkpoint')]: true,
    };
    expect(CheckpointError.isInstance(foreign)).toBe(true);
    expect(ValidationError.isInstance(foreign)).toBe(false);
    expect(CohortError.isInstance(new Error('plain'))).toBe(false);
    expect(CohortError.isInstance(null)).toBe(false);
  });

  it('lists every validation issue by path', () => {
    const error = new ValidationError({
      what: 'config',
      issues: [
        { path: 'objective.clipLow', message: 'Too big' },
        { path: '', message: 'Unknown key' },
      ],
    });
    expect(error.message).toBe(
      'Invalid config:\n  - objective.clipLow: Too big\n  - (root): Unknown key',
    );
  });
});
