import { InvalidArgumentError, type Scenario, ScenarioSchema } from '@cohort/core';
import { describe, expect, it } from 'vitest';
import { evaluateSuccessCriteria } from './success-criteria';

const scenario: Scenario = ScenarioSchema.parse({
  id: 'criteria-test',
  category: 'refunds',
  persona: 'a customer',
  goal: 'get a refund',
  successCriteria: [
    { id: 'order', description: 'order id', anyOf: ['A1042', 'order number'] },
    { id: 'refund', description: 'refund', anyOf: ['refund'], weight: 2 },
    { id: 'both', description: 'reset and password', allOf: ['reset', 'password'] },
    { id: 'days', description: 'days', pattern: '\\b[35] business days\\b', weight: 0.5 },
  ],
  maxTurns: 4,
  user: { opening: 'Hi' },
});

describe('evaluateSuccessCriteria', () => {
  it('meets nothing on no messages', () => {
    const result = evaluateSuccessCriteria(scenario, []);
    expect(result.metIds).toEqual([]);
    expect(result.completion).toBe(0);
    expect(result.allMet).toBe(false);
  });

  it('matches phrases as case-insensitive substrings and weights the fraction', () => {
    // refund (2) and order (1) met out of a total weight 1 + 2 + 1 + 0.5 = 4.5
    const result = evaluateSuccessCriteria(scenario, ['Your a1042 was REFUNDED.']);
    expect(result.metIds).toEqual(['order', 'refund']);
    expect(result.unmetIds).toEqual(['both', 'days']);
    expect(result.completion).toBeCloseTo(3 / 4.5, 12);
  });

  it('needs every allOf phrase, possibly across messages', () => {
    expect(evaluateSuccessCriteria(scenario, ['please reset it']).metIds).not.toContain('both');
    expect(
      evaluateSuccessCriteria(scenario, ['please reset it', 'your password']).metIds,
    ).toContain('both');
  });

  it('tests patterns case-insensitively', () => {
    expect(evaluateSuccessCriteria(scenario, ['within 5 Business Days']).metIds).toEqual(['days']);
    expect(evaluateSuccessCriteria(scenario, ['within 4 business days']).metIds).toEqual([]);
  });

  it('reports all met', () => {
    const result = evaluateSuccessCriteria(scenario, [
      'order number noted, refund issued',
      'reset your password; 3 business days',
    ]);
    expect(result.allMet).toBe(true);
    expect(result.completion).toBe(1);
  });

  it('needs every check a criterion gives', () => {
    const combined = ScenarioSchema.parse({
      ...scenario,
      successCriteria: [{ id: 'x', description: 'x', anyOf: ['refund'], pattern: 'order \\d+' }],
    });
    expect(evaluateSuccessCriteria(combined, ['refund']).allMet).toBe(false);
    expect(evaluateSuccessCriteria(combined, ['refund for order 12']).allMet).toBe(true);
  });

  it('rejects a scenario without criteria and a bad pattern, naming them', () => {
    expect(() => evaluateSuccessCriteria({ successCriteria: [] }, [])).toThrow(
      InvalidArgumentError,
    );
    const bad = {
      ...scenario,
      successCriteria: [{ id: 'p', description: 'p', pattern: '(', weight: 1 }],
    };
    expect(() => evaluateSuccessCriteria(bad, ['x'])).toThrow(/successCriteria\[0\]\.pattern/);
  });
});
