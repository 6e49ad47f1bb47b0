/**
 * What does exact power-of-two rescaling (which keeps 1e300 and 1e-300 rewards
 * finite) cost in `groupRelativeAdvantages`, against a naive one-pass GRPO
 * normalization written here? Also times batched GAE over ragged trajectories.
 * Run: pnpm exec tsx --conditions=@cohort/source bench/advantages-rescaling.ts
 */
import { writeFileSync } from 'node:fs';
import { groupRelativeAdvantages } from '../packages/advantages/src/index';
import { Random } from '../packages/core/src/index';
import { batchedGeneralizedAdvantageEstimation } from '../packages/value/src/index';

function naiveGrpo(rewards: number[], groupSize: number, epsilon: number): number[] {
  const out = new Array<number>(rewards.length);
  for (let start = 0; start < rewards.length; start += groupSize) {
    let sum = 0;
    for (let i = start; i < start + groupSize; i++) sum += rewards[i]!;
    const mean = sum / groupSize;
    let squares = 0;
    for (let i = start; i < start + groupSize; i++) squares += (rewards[i]! - mean) ** 2;
    const std = groupSize > 1 ? Math.sqrt(squares / (groupSize - 1)) : 0;
    for (let i = start; i < start + groupSize; i++) out[i] = (rewards[i]! - mean) / (std + epsilon);
  }
  return out;
}

function time(run: () => void, repetitions: number): number {
  for (let i = 0; i < Math.min(20, repetitions); i++) run();
  const start = performance.now();
  for (let i = 0; i < repetitions; i++) run();
  return (performance.now() - start) / repetitions;
}

const random = new Random(1);
const results: Record<string, unknown> = { node: process.version };
for (const [groups, groupSize] of [
  [64, 16],
  [1024, 16],
] as const) {
  const rewards = Array.from({ length: groups * groupSize }, () => random.normal(0, 1));
  const repetitions = groups > 100 ? 200 : 2000;
  const cohortMs = time(() => groupRelativeAdvantages({ rewards, groupSize }), repetitions);
  const naiveMs = time(() => naiveGrpo(rewards, groupSize, 1e-4), repetitions);
  const a = groupRelativeAdvantages({ rewards, groupSize }).advantages;
  const b = naiveGrpo(rewards, groupSize, 1e-4);
  const maxDifference = Math.max(...a.map((value, index) => Math.abs(value - b[index]!)));
  results[`grpo_${groups}x${groupSize}`] = {
    cohortMs,
    naiveMs,
    ratio: cohortMs / naiveMs,
    maxDifference,
  };
}
const trajectories = Array.from({ length: 256 }, () => {
  const length = random.int(16, 512);
  return {
    rewards: Array.from({ length }, (_, t) => (t === length - 1 ? random.float() : 0)),
    values: Array.from({ length }, () => random.normal(0, 1)),
  };
});
const tokens = trajectories.reduce((total, trajectory) => total + trajectory.rewards.length, 0);
const gaeMs = time(
  () => batchedGeneralizedAdvantageEstimation({ trajectories, gamma: 1, lambda: 0.95 }),
  50,
);
results.batchedGae = {
  trajectories: trajectories.length,
  tokens,
  ms: gaeMs,
  tokensPerMs: tokens / gaeMs,
};
writeFileSync('bench/results/advantages-rescaling.json', `${JSON.stringify(results, null, 2)}\n`);
console.log(JSON.stringify(results, null, 2));
