import { Random } from '@cohort/core';
import { expectArraysClose } from '@cohort/core/test';
import { createObjective } from '@cohort/objectives';
import { initializeBackend } from '@cohort/tfjs';
import type * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { learnPolicy } from './policy-learning-stage';
import { fixturePolicy, fixtureTrajectory, unigramLogProb } from './stage-test-fixtures';
import type { OptimizerStepResult, PolicyOptimizer } from './trainable-policy';

beforeAll(async () => {
  await initializeBackend({ logger: false });
});

/** Plain gradient descent that keeps a copy of every gradient it applies. */
class RecordingSgd implements PolicyOptimizer {
  readonly applied: Record<string, number[]>[] = [];
  private readonly byName = new Map<string, [string, tf.Variable]>();
  constructor(
    variables: Record<string, tf.Variable>,
    private readonly learningRate: number,
  ) {
    // Gradients come keyed by tfjs's variable names; the record uses the stable names.
    for (const [key, variable] of Object.entries(variables)) {
      this.byName.set(key, [key, variable]);
      this.byName.set(variable.name, [key, variable]);
    }
  }
  applyGradients(gradients: Record<string, tf.Tensor>): OptimizerStepResult {
    const record: Record<string, number[]> = {};
    for (const [name, gradient] of Object.entries(gradients)) {
      const [key, variable] = this.byName.get(name)!;
      record[key] = Array.from(gradient.dataSync());
      variable.assign(variable.sub(gradient.mul(this.learningRate)));
    }
    this.applied.push(record);
    return { gradNorm: 0, learningRate: this.learningRate, skipped: false };
  }
  getState(): unknown {
    return {};
  }
  setState(): void {}
}

async function run(options: {
  minibatchSize: number;
  gradientAccumulationSteps: number;
  corruptRow?: number;
  advantages?: number[];
  perturb?: number;
  recompute?: boolean;
}) {
  const policy = fixturePolicy(3);
  const logits = Array.from(policy.logits.dataSync());
  const random = new Random(11);
  const advantages = options.advantages ?? [0.9, -0.4, 1.3, -1.1, 0.2, -0.7, 0.5, -0.2];
  const trajectories = advantages.map((_, index) => {
    const behaviorLogits = logits.map((value) => value + (options.perturb ?? 0) * random.normal());
    const trajectory = fixtureTrajectory({
      id: `t${index}`,
      random,
      behaviorLogits,
      length: 5 + index,
      sampled: 1 + (index % 4),
      reward: 0,
    });
    if (index === options.corruptRow)
      trajectory.behaviorLogProbs = trajectory.behaviorLogProbs.map((value, position) =>
        trajectory.lossMask[position] === 1 ? Number.NaN : value,
      );
    return trajectory;
  });
  const optimizer = new RecordingSgd(policy.namedVariables(), 0.5);
  const warnings: string[] = [];
  const result = await learnPolicy({
    policy,
    optimizer,
    objective: createObjective({ preset: 'grpo', entropyCoefficient: 0 }),
    trajectories,
    advantagesPerToken: trajectories.map((trajectory, row) =>
      trajectory.tokenIds.map(() => advantages[row]!),
    ),
    klCoefficient: 0,
    epochs: 1,
    minibatchSize: options.minibatchSize,
    gradientAccumulationSteps: options.gradientAccumulationSteps,
    maskTruncated: false,
    temperature: 1,
    random: new Random(5),
    ...(options.recompute === undefined ? {} : { recomputeBehaviorLogProbs: options.recompute }),
    warn: (message) => warnings.push(message),
  });
  return { result, optimizer, policy, warnings, trajectories, logits };
}

describe('learnPolicy', async () => {
  it('averages the gradients of gradientAccumulationSteps minibatches into one step, equal to the whole batch', async () => {
    // Sequence-mean aggregation over equal halves: the mean of the halves' gradients is the whole batch's gradient.
    const accumulated = await run({ minibatchSize: 4, gradientAccumulationSteps: 2, perturb: 0.3 });
    const whole = await run({ minibatchSize: 8, gradientAccumulationSteps: 1, perturb: 0.3 });
    const separate = await run({ minibatchSize: 4, gradientAccumulationSteps: 1, perturb: 0.3 });
    expect(accumulated.result.applied).toBe(1);
    expect(accumulated.policy.version).toBe(1);
    expect(whole.result.applied).toBe(1);
    expect(separate.result.applied).toBe(2);
    expect(separate.policy.version).toBe(2);
    const gradient = accumulated.optimizer.applied[0]!.logits!;
    expect(Math.max(...gradient.map(Math.abs))).toBeGreaterThan(1e-3);
    expectArraysClose(gradient, whole.optimizer.applied[0]!.logits!, 1e-5);
  });

  it('leaves a minibatch with a non-finite loss out of the gradients and out of the loss mean', async () => {
    // Ratio 1 everywhere and no KL or entropy: each sequence's loss is -A.
    const advantages = [0.5, -2, -1.25];
    const { result, optimizer, warnings } = await run({
      minibatchSize: 1,
      gradientAccumulationSteps: 3,
      corruptRow: 1,
      advantages,
    });
    expect(result.skipped).toBe(1);
    expect(result.applied).toBe(1);
    expect(warnings).toEqual([expect.stringMatching(/non-finite loss NaN: minibatch skipped/)]);
    expect(result.loss).toBeCloseTo((-0.5 + 1.25) / 2, 6);
    expect(Number.isFinite(result.entropy)).toBe(true);
    expect(optimizer.applied[0]!.logits!.every(Number.isFinite)).toBe(true);
  });

  it('recomputes the old log-probs with the learner before the first update, ignoring the sampler rounding, and measures the mismatch', async () => {
    // Two optimizer steps: the second minibatch's old log-probs must be the pre-update policy's,
    // so the run equals one whose sampler log-probs were exactly the policy's (perturb 0).
    const recomputed = await run({
      minibatchSize: 4,
      gradientAccumulationSteps: 1,
      perturb: 0.3,
      recompute: true,
    });
    const exact = await run({ minibatchSize: 4, gradientAccumulationSteps: 1, perturb: 0 });
    const biased = await run({ minibatchSize: 4, gradientAccumulationSteps: 1, perturb: 0.3 });
    expect(recomputed.result.applied).toBe(2);
    for (const step of [0, 1]) {
      const gradient = recomputed.optimizer.applied[step]!.logits!;
      expectArraysClose(gradient, exact.optimizer.applied[step]!.logits!, 1e-5);
      const difference = gradient.map((value, index) =>
        Math.abs(value - biased.optimizer.applied[step]!.logits![index]!),
      );
      expect(Math.max(...difference)).toBeGreaterThan(1e-3);
    }
    // The mismatch, computed independently in float64 against the initial logits.
    let max = 0;
    let total = 0;
    let count = 0;
    for (const trajectory of recomputed.trajectories) {
      trajectory.lossMask.forEach((masked, position) => {
        if (masked !== 1) return;
        const expected = unigramLogProb(recomputed.logits, trajectory.tokenIds[position]!);
        const difference = Math.abs(trajectory.behaviorLogProbs[position]! - expected);
        max = Math.max(max, difference);
        total += difference;
        count++;
      });
    }
    const mismatch = recomputed.result.logProbMismatch!;
    expect(mismatch.tokenCount).toBe(count);
    expect(mismatch.max).toBeCloseTo(max, 5);
    expect(mismatch.mean).toBeCloseTo(total / count, 5);
    expect(mismatch.max).toBeGreaterThan(0.05);
    expect(exact.result.logProbMismatch).toBeUndefined();
  });

  it('records the policy entropy of every position of the first pass', async () => {
    const { result, policy } = await run({ minibatchSize: 3, gradientAccumulationSteps: 1 });
    // The unigram policy has one distribution, so every position past the first has its entropy (before the update).
    expect(result.entropyPerToken).toHaveLength(8);
    const row = result.entropyPerToken[4]!;
    expect(row[0]).toBe(0);
    expect(row.slice(1).every((value) => Math.abs(value - row[1]!) < 1e-6)).toBe(true);
    expect(row[1]).toBeGreaterThan(0);
    expect(policy.version).toBe(3);
  });
});
