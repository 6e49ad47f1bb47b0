/**
 * The trainer's policy shard loss, except that worker 1 throws on its second
 * gradient request: the data-parallel tests' way to fail a step after an
 * optimizer step of the same stage has been applied.
 */
import type { ShardLossContext } from '@cohort/tfjs/node';
import policyShardLoss, {
  type PolicyShardItem,
  type PolicyShardShared,
} from '../policy-shard-loss';

let calls = 0;

export default function failingPolicyShardLoss(
  context: ShardLossContext<PolicyShardItem, PolicyShardShared>,
) {
  calls++;
  if (context.workerIndex === 1 && calls === 2) throw new RangeError('worker 1 was told to fail');
  return policyShardLoss(context);
}
