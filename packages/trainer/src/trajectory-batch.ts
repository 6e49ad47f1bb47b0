import type { Trajectory } from '@cohort/core';

/** Trajectories laid out as right-padded rows, ready to become tensors. */
export interface TrajectoryBatch {
  sequences: number[][];
  /** `[B * L]`, row-major, 1 where the token counts in the loss. */
  lossMask: Float32Array;
  /** `[B * L]`, the sampler's log-probs (0 where the mask is 0). */
  oldLogProbs: Float32Array;
  /** `[B * L]`, advantages broadcast over each row's masked tokens. */
  advantages: Float32Array;
  /** `[B * L]`, reference log-probs, when given. */
  refLogProbs?: Float32Array;
  batchSize: number;
  maxLength: number;
}

/**
 * Lays trajectories out for a loss computation. `advantagesPerToken[i]` has
 * one entry per token of trajectory i; `maskOverride[i] === false` drops a
 * trajectory from the loss (for example a truncated one).
 */
export function buildTrajectoryBatch(options: {
  trajectories: readonly Trajectory[];
  advantagesPerToken: readonly (readonly number[])[];
  refLogProbs?: readonly (readonly number[])[];
  includeInLoss?: readonly boolean[];
}): TrajectoryBatch {
  const { trajectories } = options;
  const batchSize = trajectories.length;
  const maxLength = Math.max(0, ...trajectories.map((trajectory) => trajectory.tokenIds.length));
  const size = batchSize * maxLength;
  const lossMask = new Float32Array(size);
  const oldLogProbs = new Float32Array(size);
  const advantages = new Float32Array(size);
  const refLogProbs = options.refLogProbs ? new Float32Array(size) : undefined;
  trajectories.forEach((trajectory, row) => {
    const included = options.includeInLoss?.[row] ?? true;
    const rowAdvantages = options.advantagesPerToken[row]!;
    const rowReference = options.refLogProbs?.[row];
    for (let position = 0; position < trajectory.tokenIds.length; position++) {
      const index = row * maxLength + position;
      const masked = included && trajectory.lossMask[position] === 1 ? 1 : 0;
      lossMask[index] = masked;
      oldLogProbs[index] = masked ? trajectory.behaviorLogProbs[position]! : 0;
      advantages[index] = masked ? rowAdvantages[position]! : 0;
      if (refLogProbs && rowReference) refLogProbs[index] = masked ? rowReference[position]! : 0;
    }
  });
  return {
    sequences: trajectories.map((trajectory) => [...trajectory.tokenIds]),
    lossMask,
    oldLogProbs,
    advantages,
    ...(refLogProbs ? { refLogProbs } : {}),
    batchSize,
    maxLength,
  };
}

/** Broadcasts one advantage per trajectory over its tokens. */
export function sequenceAdvantagesToTokens(
  trajectories: readonly Trajectory[],
  advantages: readonly number[],
): number[][] {
  return trajectories.map((trajectory, row) =>
    new Array<number>(trajectory.tokenIds.length).fill(advantages[row]!),
  );
}
