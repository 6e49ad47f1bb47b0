/**
 * The loss module of bench/tfjs-data-parallel.ts: the GRPO update's shape of
 * loss, advantage-weighted log-probs plus an entropy bonus, token mean over
 * the whole minibatch.
 */

import { tokenLogProbs } from '../packages/tfjs/src/index';
import type { ShardLossContext } from '../packages/tfjs/src/node/index';

export interface BenchItem {
  tokenIds: number[];
  advantage: number;
}

export default function benchLoss(context: ShardLossContext<BenchItem, { tokenCount: number }>) {
  const { model, items, shared, tf } = context;
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
