import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from './errors';
import {
  assertSamplingSettings,
  assertTokenIds,
  validateSampleRequest,
} from './sample-request-validation';

function message(call: () => void): string {
  try {
    call();
  } catch (error) {
    expect(InvalidArgumentError.isInstance(error)).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected an InvalidArgumentError');
}

const request = { prompts: [[1, 2], [3]], groupSize: 2, maxNewTokens: 4, seed: 0 };

describe('the shared validation of sample requests', () => {
  it('accepts a valid request, the edges of the vocabulary and of the settings', () => {
    expect(() => validateSampleRequest(request, 4)).not.toThrow();
    expect(() => assertTokenIds('prompts', [[0, 3]], 4)).not.toThrow();
    expect(() => assertTokenIds('prompts', [[]], 4)).not.toThrow();
    expect(() => assertSamplingSettings({ temperature: 0, topK: 0, topP: 1 })).not.toThrow();
    expect(() => assertSamplingSettings({ topP: Number.MIN_VALUE })).not.toThrow();
  });

  it('names the field and the value of every bad one', () => {
    expect(message(() => validateSampleRequest({ ...request, prompts: [[1], [2, 4]] }, 4))).toBe(
      'Invalid argument prompts[1][1] = 4: must be an integer in [0, 4)',
    );
    expect(message(() => validateSampleRequest({ ...request, prompts: [[1.5]] }, 4))).toBe(
      'Invalid argument prompts[0][0] = 1.5: must be an integer in [0, 4)',
    );
    expect(message(() => validateSampleRequest({ ...request, prompts: [[1], []] }, 4))).toMatch(
      /^Invalid argument prompts\[1\] = .*: must hold at least one token$/,
    );
    expect(message(() => validateSampleRequest({ ...request, groupSize: 0 }, 4))).toBe(
      'Invalid argument groupSize = 0: must be an integer >= 1',
    );
    expect(message(() => validateSampleRequest({ ...request, maxNewTokens: 2.5 }, 4))).toBe(
      'Invalid argument maxNewTokens = 2.5: must be an integer >= 1',
    );
    expect(message(() => validateSampleRequest({ ...request, seed: -1 }, 4))).toBe(
      'Invalid argument seed = -1: must be an integer >= 0',
    );
    expect(message(() => assertSamplingSettings({ temperature: Number.NaN }))).toBe(
      'Invalid argument temperature = NaN: must be a finite number >= 0 (0 is greedy)',
    );
    expect(
      message(() => assertSamplingSettings({ temperature: Number.POSITIVE_INFINITY })),
    ).toMatch(/^Invalid argument temperature = Infinity: must be a finite number >= 0/);
    expect(message(() => assertSamplingSettings({ topK: -1 }))).toBe(
      'Invalid argument topK = -1: must be an integer >= 0',
    );
    expect(message(() => assertSamplingSettings({ topP: 0 }))).toBe(
      'Invalid argument topP = 0: must be in (0, 1]',
    );
    expect(message(() => assertSamplingSettings({ topP: 1.01 }))).toBe(
      'Invalid argument topP = 1.01: must be in (0, 1]',
    );
  });
});
