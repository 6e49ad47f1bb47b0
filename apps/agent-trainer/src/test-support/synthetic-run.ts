import type { MetricsRecord } from '@cohort/trainer';
import type { SampleRecord } from '../run-directory';

/**
 * A deterministic synthetic metrics log (steps, evaluations, generations and
 * one event) shaped like the trainer's, for report tests.
 */
export function syntheticMetrics(options: {
  steps: number;
  evaluateEvery: number;
  generationEvery: number;
}): MetricsRecord[] {
  const records: MetricsRecord[] = [];
  const time = (step: number) => new Date(Date.UTC(2025, 0, 1, 0, 0, step)).toISOString();
  let generation = 0;
  records.push({
    kind: 'evaluation',
    step: 0,
    time: time(0),
    episodes: 12,
    rewardMean: 0.3,
    rewardStd: 0.2,
    successRate: 0.1,
    rewardMeanByFunction: { goal: 0.3 },
    rewardInterval: [0.2, 0.4],
    successInterval: [0, 0.25],
    byCategory: {
      refunds: { scenarios: 6, rewardMean: 0.35, successRate: 0.2, rewardInterval: [0.2, 0.5] },
      shipping: { scenarios: 6, rewardMean: 0.25, successRate: 0, rewardInterval: [0.1, 0.4] },
    },
  });
  for (let step = 1; step <= options.steps; step++) {
    const progress = step / options.steps;
    records.push({
      kind: 'step',
      step,
      time: time(step),
      episodes: step * 8,
      rewardMean: 0.3 + 0.4 * progress + 0.02 * Math.sin(step),
      rewardStd: 0.2 - 0.05 * progress,
      rewardMeanByFunction: {
        'goal-completion': 0.3 + 0.5 * progress,
        format: 0.8 + 0.1 * progress,
      },
      successRate: 0.1 + 0.5 * progress,
      zeroSpreadGroupFraction: 0.25,
      klToReference: 0.001 * step,
      klCoefficient: 0.01,
      entropy: 2 - progress,
      clipFractionLow: 0.01 * (step % 3),
      clipFractionHigh: 0.02 * (step % 2),
      approxKlToOld: 0.001,
      loss: -0.1 * progress,
      gradNorm: 1,
      learningRate: 1e-4,
      completionLengthMean: 20 + step,
      completionLengthMax: 40 + step,
      truncatedFraction: 0.1 * (step % 2),
      lengthEndedFraction: 0.05 * (step % 3),
      distinct1: 0.6 - 0.4 * progress,
      distinct2: 0.8 - 0.5 * progress,
      // The policy collapses onto one stock reply in the second half.
      topReplyShare: progress > 0.5 ? 0.75 : 0.2,
      emptyReplyShare: 0,
      sampledTokens: 500,
      // One non-finite value, written the way the metrics log writes it: it must be skipped, not break the plot.
      tokensPerSecond: step === 3 ? 'NaN' : 100 + step,
      stepSeconds: 5,
      timings: { rollout: 3, scoring: 0.1, reference: 0.5, update: 1.4 },
    });
    if (step % options.generationEvery === 0) {
      generation++;
      records.push({
        kind: 'generation',
        step,
        time: time(step),
        generation,
        episode: step * 8,
        bestFitness: 0.5 + 0.05 * generation,
        meanFitness: 0.4 + 0.04 * generation,
        worstFitness: 0.2 + 0.03 * generation,
        diversity: 0.5,
        adopted: generation === 2 ? 'g2-m1' : null,
      });
    }
    if (step % options.evaluateEvery === 0) {
      records.push({
        kind: 'evaluation',
        step,
        time: time(step),
        episodes: 12,
        rewardMean: 0.3 + 0.4 * progress,
        rewardStd: 0.2,
        successRate: 0.1 + 0.5 * progress,
        rewardMeanByFunction: { goal: 0.3 + 0.4 * progress },
        rewardInterval: [0.2 + 0.4 * progress, 0.4 + 0.4 * progress],
        successInterval: [Math.max(0, 0.5 * progress - 0.1), 0.2 + 0.5 * progress],
        byCategory: {
          refunds: {
            scenarios: 6,
            rewardMean: 0.35 + 0.5 * progress,
            successRate: 0.2 + 0.5 * progress,
            rewardInterval: [0.2, 0.9],
          },
          shipping: {
            scenarios: 6,
            rewardMean: 0.25 + 0.3 * progress,
            successRate: 0.4 * progress,
            rewardInterval: [0.1, 0.7],
          },
        },
      });
    }
  }
  records.push({
    kind: 'event',
    step: options.steps,
    time: time(options.steps),
    event: 'stopped',
    reason: 'test',
  });
  return records;
}

/** Sample conversations at the first evaluation (step 0) and at `step`, with text that needs escaping. */
export function syntheticSamples(step: number): SampleRecord[] {
  return [
    {
      step: 0,
      scenarioId: 'refunds-1',
      reward: 0.2,
      endReason: 'turn-limit',
      messages: [
        { role: 'user', content: 'My order <b>#42</b> & "the box" arrived broken.' },
        { role: 'assistant', content: 'Hello.' },
      ],
    },
    {
      step,
      scenarioId: 'refunds-1',
      reward: 1,
      endReason: 'success',
      messages: [
        { role: 'system', content: 'You are a helpful agent.' },
        { role: 'user', content: 'My order <b>#42</b> & "the box" arrived broken.' },
        { role: 'assistant', content: 'Sorry! I have issued a refund <script>alert(1)</script>.' },
      ],
    },
    {
      step,
      scenarioId: 'shipping-2',
      reward: 0.5,
      endReason: 'turn-limit',
      messages: [
        { role: 'user', content: 'Where is my parcel?' },
        { role: 'assistant', content: 'Let me check.' },
      ],
    },
  ];
}
