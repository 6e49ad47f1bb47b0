/**
 * The loss module that the data-parallel learner's workers import for the
 * policy-learning stage (see `policy-gradient-workers.ts`): each worker
 * rebuilds the trainer's built-in objective from its config and returns its
 * shard's part of the minibatch loss, scaled so that the shards' parts add up
 * to the minibatch loss that the single-threaded stage computes.
 */
import type { LossAggregation } from '@cohort/kl';
import {
  createObjective,
  type ObjectiveOptions,
  type SurrogateObjective,
} from '@cohort/objectives';
import { tokenLogProbs } from '@cohort/tfjs';
import type { ShardLossContext, ShardLossResult } from '@cohort/tfjs/node';
import type { Tensor2D } from '@tensorflow/tfjs';

/** One trajectory of a minibatch, laid out per position (length = its sequence's). */
export interface PolicyShardItem {
  sequence: number[];
  oldLogProbs: number[];
  advantages: number[];
  lossMask: number[];
  refLogProbs?: number[];
  /** Take the old log-probs from this forward pass (no update has happened since sampling) and return them. */
  oldFromForward: boolean;
}

/** What every shard of a minibatch needs. */
export interface PolicyShardShared {
  objective: ObjectiveOptions;
  klCoefficient: number;
  temperature: number;
  padTokenId: number;
  /** The minibatch's rows, rows with a masked token, masked tokens, and padded length. */
  rowCount: number;
  nonEmptyRowCount: number;
  tokenCount: number;
  maxLength: number;
  /** Return each row's entropies (the stage records them on its first pass). */
  withEntropy: boolean;
}

/** Per-row values a shard hands back, in its rows' order. */
export interface PolicyShardExtras {
  logProbRows: (number[] | null)[];
  entropyRows: number[][] | null;
}

/** The aggregation modes whose shards' parts add up exactly; the others need the whole minibatch. */
export const shardableAggregations: readonly LossAggregation[] = [
  'token-mean',
  'sequence-mean',
  'constant',
  'seq-mean-token-sum',
  'seq-mean-token-sum-norm',
];

/**
 * Why an objective's minibatch loss cannot be split into shards that add up
 * exactly (an aggregation over groups or micro-batches, or a top-entropy
 * quantile taken over the whole minibatch), or undefined when it can.
 */
export function unshardableReason(config: ObjectiveOptions): string | undefined {
  const { settings } = createObjective(config);
  if (!shardableAggregations.includes(settings.aggregation))
    return `loss aggregation '${settings.aggregation}' spans rows that different workers would hold`;
  if (settings.topEntropyQuantile !== undefined)
    return 'topEntropyQuantile takes its quantile over the whole minibatch';
  return undefined;
}

const objectives = new Map<string, SurrogateObjective>();

/** The objective of `config`, with the constant length pinned to the minibatch's, so that every shard divides alike. */
function objectiveFor(config: ObjectiveOptions, maxLength: number): SurrogateObjective {
  const probe = createObjective(config);
  const pinned =
    (probe.settings.aggregation === 'constant' ||
      probe.settings.aggregation === 'seq-mean-token-sum-norm') &&
    config.constantLength === undefined
      ? { ...config, constantLength: maxLength }
      : config;
  const key = JSON.stringify(pinned);
  let objective = objectives.get(key);
  if (objective === undefined) {
    objective = createObjective(pinned);
    objectives.set(key, objective);
  }
  return objective;
}

/**
 * This shard's share of the minibatch: `rows_s / rows` for the modes that
 * average over sequences (`nonEmpty_s / nonEmpty` when empty rows are
 * excluded), `tokens_s / tokens` for the token mean, 1 for a constant
 * normalizer that does not divide by the row count.
 */
function shardScale(
  mode: LossAggregation,
  excludeEmpty: boolean,
  shard: { rows: number; nonEmptyRows: number; tokens: number },
  shared: PolicyShardShared,
): number {
  switch (mode) {
    case 'token-mean':
      return shared.tokenCount === 0 ? 0 : shard.tokens / shared.tokenCount;
    case 'sequence-mean':
    case 'seq-mean-token-sum':
      return excludeEmpty
        ? shared.nonEmptyRowCount === 0
          ? 0
          : shard.nonEmptyRows / shared.nonEmptyRowCount
        : shard.rows / shared.rowCount;
    case 'constant':
      return shard.rows / shared.rowCount;
    case 'seq-mean-token-sum-norm':
      return 1;
    default:
      throw new Error(`loss aggregation '${mode}' cannot be split across data-parallel workers`);
  }
}

/**
 * The shard loss: the objective on this shard's rows (padded to their own
 * longest), times {@link shardScale}; metrics, which the objective reports as
 * token means, times the shard's token share.
 */
export default function policyShardLoss(
  context: ShardLossContext<PolicyShardItem, PolicyShardShared>,
): ShardLossResult {
  const { model, items, shared, tf } = context;
  const output = tokenLogProbs(model, {
    sequences: items.map((item) => item.sequence),
    temperature: shared.temperature,
    withEntropy: true,
    padTokenId: shared.padTokenId,
  });
  output.mask.dispose();
  return policyShardObjective({
    items,
    shared,
    tf,
    logProbs: output.logProbs,
    ...(output.entropy ? { entropy: output.entropy } : {}),
  });
}

/**
 * {@link policyShardLoss} from given per-token log-probs and entropies
 * `[rows, T]` (right-padded, `tokenLogProbs`' layout): what a learner that
 * computes them elsewhere (the ONNX learning engine) differentiates with
 * respect to them, to hand their gradients to its own backward pass.
 *
 * @example
 * ```ts
 * const [dLogp, dEntropy] = tf.grads((l, e) => policyShardObjective({ items, shared, tf, logProbs: l, entropy: e }).loss)([logProbs, entropy]);
 * ```
 */
export function policyShardObjective(options: {
  items: readonly PolicyShardItem[];
  shared: PolicyShardShared;
  tf: ShardLossContext['tf'];
  logProbs: Tensor2D;
  entropy?: Tensor2D;
}): ShardLossResult {
  const { items, shared, tf } = options;
  const output = { logProbs: options.logProbs, entropy: options.entropy };
  const objective = objectiveFor(shared.objective, shared.maxLength);
  const length = output.logProbs.shape[1] as number;
  const forward = items.some((item) => item.oldFromForward)
    ? (output.logProbs.arraySync() as number[][])
    : undefined;
  const rows = (pick: (item: PolicyShardItem, row: number) => readonly number[]) => {
    const values = new Float32Array(items.length * length);
    items.forEach((item, row) => {
      const source = pick(item, row);
      for (let position = 0; position < source.length; position++)
        values[row * length + position] = source[position]!;
    });
    return tf.tensor2d(values, [items.length, length]);
  };
  const logProbRows = items.map((item, row) =>
    item.oldFromForward ? (forward![row] as number[]).slice(0, item.sequence.length) : null,
  );
  const oldLogProbs = rows((item, row) => {
    const fromForward = logProbRows[row];
    if (!fromForward) return item.oldLogProbs;
    return item.lossMask.map((masked, position) =>
      masked > 0 ? fromForward[position]! : item.oldLogProbs[position]!,
    );
  });
  const hasReference = items[0]?.refLogProbs !== undefined;
  const result = objective.compute(
    {
      logProbs: output.logProbs,
      oldLogProbs,
      advantages: rows((item) => item.advantages),
      lossMask: rows((item) => item.lossMask),
      ...(hasReference ? { refLogProbs: rows((item) => item.refLogProbs ?? []) } : {}),
      ...(output.entropy ? { entropy: output.entropy } : {}),
    },
    { klCoefficient: hasReference ? shared.klCoefficient : 0 },
  );
  const tokens = items.reduce(
    (sum, item) => sum + item.lossMask.reduce((count, value) => count + value, 0),
    0,
  );
  const nonEmptyRows = items.filter((item) => item.lossMask.some((value) => value > 0)).length;
  const scale = shardScale(
    objective.settings.aggregation,
    objective.settings.emptyRows === 'exclude',
    { rows: items.length, nonEmptyRows, tokens },
    shared,
  );
  const tokenShare = shared.tokenCount === 0 ? 0 : tokens / shared.tokenCount;
  // The aggregated losses scale like the loss, counts add up, and every other metric is a token mean.
  const metrics: Record<string, number> = {};
  for (const [name, value] of Object.entries(result.metrics)) {
    if (value === undefined) continue;
    metrics[name] =
      name === 'loss' || name === 'policyLoss'
        ? value * scale
        : name === 'tokenCount'
          ? value
          : value * tokenShare;
  }
  const extras: PolicyShardExtras = {
    logProbRows,
    entropyRows:
      shared.withEntropy && output.entropy
        ? (output.entropy.arraySync() as number[][]).map((row, index) =>
            row.slice(0, items[index]!.sequence.length),
          )
        : null,
  };
  return { loss: result.loss.mul(scale) as ShardLossResult['loss'], metrics, extras };
}
