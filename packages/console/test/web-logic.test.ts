import { describe, expect, it } from 'vitest';
import { degenerateReason } from '../web/degenerate';
import { alignSeries, metricNames, metricValue, smooth } from '../web/series';

describe('the front-end’s series', () => {
  it('smooths as a debiased exponential moving average (hand-computed)', () => {
    // w = 0.5: m1 = 0.5*1 = 0.5 -> 0.5/0.5 = 1; m2 = 0.25 + 0.5*3 = 1.75 -> 1.75/0.75 = 2.3333;
    // a gap stays a gap; m3 = 0.875 + 0.5*5 = 3.375 -> 3.375/0.875 = 3.857142857.
    const smoothed = smooth([1, 3, null, 5], 0.5);
    expect(smoothed[0]).toBeCloseTo(1, 12);
    expect(smoothed[1]).toBeCloseTo(7 / 3, 12);
    expect(smoothed[2]).toBeNull();
    expect(smoothed[3]).toBeCloseTo(27 / 7, 12);
    expect(smooth([2, 4], 0)).toEqual([2, 4]);
    // A constant stays constant from the first point (the debiasing at work).
    for (const value of smooth([3, 3, 3, 3], 0.9)) expect(value).toBeCloseTo(3, 12);
  });

  it('names every numeric metric, nested ones as parent.child, and reads NaN as a gap', () => {
    const records = [
      {
        kind: 'step',
        step: 1,
        time: 't',
        loss: 'NaN',
        rewardMean: 0.5,
        timings: { update: 1 },
        note: 'x',
      },
      { kind: 'evaluation', step: 1, successRate: 1 },
      { kind: 'step', step: 3, loss: 2, rewardMean: 0.7 },
    ];
    expect(metricNames(records)).toEqual(['loss', 'rewardMean', 'timings.update']);
    expect(metricValue(records[0]!, 'loss')).toBeNull();
    expect(metricValue(records[0]!, 'timings.update')).toBe(1);
    const aligned = alignSeries(
      [{ records }, { records: [{ kind: 'step', step: 2, loss: 5 }] }],
      'loss',
    );
    expect(aligned).toEqual({
      steps: [1, 2, 3],
      values: [
        [null, null, 2],
        [null, 5, null],
      ],
    });
  });

  it('finds degenerate replies', () => {
    expect(degenerateReason('  ')).toBe('empty');
    expect(degenerateReason('fine reply', 'length')).toBe('token limit');
    expect(degenerateReason('no no no no')).toBe('repeats "no"');
    expect(degenerateReason('well ok ok ok ok then')).toBe('repeats "ok"');
    expect(degenerateReason('I can help. a b c a b c a b c a b c')).toBe('repeats "a b c"');
    expect(degenerateReason('no no no, that is fine')).toBeNull();
    expect(degenerateReason('Your refund for order 42 is on its way.')).toBeNull();
  });
});
