/**
 * A loss module for the data-parallel tests: the advantage-weighted negative
 * log-likelihood, token mean over the whole minibatch (`shared.tokenCount`),
 * plus a small entropy bonus. It can be told to throw, or to end its worker,
 * on one worker index.
 */
import { tokenLogProbs } from '../../token-log-probs';
import type { ShardLossContext } from '../data-parallel-protocol';

export interface WeightedItem {
  tokenIds: number[];
  advantage: number;
}

export interface WeightedShared {
  tokenCount: number;
  throwOnWorker?: number;
  exitOnWorker?: number;
}

export default function weightedNllLoss(context: ShardLossContext<WeightedItem, WeightedShared>) {
  const { model, items, shared, tf, workerIndex } = context;
  if (shared.throwOnWorker === workerIndex) throw new RangeError('asked to fail');
  if (shared.exitOnWorker === workerIndex) process.exit(3);
  const { logProbs, entropy, mask } = tokenLogProbs(model, {
    sequences: items.map((item) => item.tokenIds),
    withEntropy: true,
  });
  const advantages = tf.tensor2d(items.map((item) => [item.advantage]));
  return logProbs
    .mul(advantages)
    .add((entropy as typeof logProbs).mul(0.01))
    .mul(mask)
    .sum()
    .div(-shared.tokenCount) as ReturnType<typeof tf.scalar>;
}
