import { InvalidArgumentError, parseWithSchema } from '@cohort/core';
import type {
  DataParallelBatch,
  DataParallelGradients,
  ShardGradientLearner,
} from './data-parallel-learner';
import type { ReplicableModel, ShardLoss } from './data-parallel-protocol';
import {
  type SequentialShardLearnerOptions,
  type SequentialShardLearnerOptionsInput,
  SequentialShardLearnerOptionsSchema,
} from './sequential-shard-learner-options';
import {
  assertGradientRequest,
  computeShardGradient,
  type GradientLayout,
  gradientLayout,
  type ShardGradient,
  shardRange,
  sumShardGradients,
} from './shard-gradient';

/**
 * Sharded gradients in this thread, to bound memory: each minibatch is split
 * into `shardCount` contiguous shards, as a {@link DataParallelLearner} with
 * that many workers splits it, and their gradients are computed one after
 * another on the model itself and summed in shard order. The sum is the
 * minibatch gradient (the loss module normalizes by minibatch-wide counts),
 * bit-identical to a data-parallel learner with `shardCount` workers, while
 * the activations held for the backward pass are one shard's, not the
 * minibatch's. This is verl's micro-batching (`ppo_micro_batch_size`) and
 * TRL's gradient accumulation with the loss normalized over the whole batch.
 *
 * It has the data-parallel learner's methods, so a trainer takes either one.
 * {@link setWeights} only records the model to compute on: there is no
 * replica to copy to.
 *
 * @example
 * ```ts
 * const learner = await createSequentialShardLearner({ lossModule: new URL('./my-loss.js', import.meta.url).href, shardCount: 4 });
 * await learner.setWeights(model);
 * const { gradients } = await learner.computeGradients({ items, shared: { tokenCount } });
 * optimizer.applyGradients(gradients);
 * tf.dispose(gradients);
 * ```
 */
export class SequentialShardLearner implements ShardGradientLearner {
  readonly options: SequentialShardLearnerOptions;
  private readonly loss: ShardLoss;
  private model: ReplicableModel | undefined;
  private layout: GradientLayout[] = [];

  constructor(options: SequentialShardLearnerOptions, loss: ShardLoss) {
    this.options = options;
    this.loss = loss;
  }

  /** Number of shards a minibatch is split into (named as the data-parallel learner's worker count). */
  get workerCount(): number {
    return this.options.shardCount;
  }

  /** Nothing to wait for: the loss module was loaded at creation. */
  async ready(): Promise<void> {}

  /** Computes on `model` from now on (this thread's model itself, so no weights are copied). */
  async setWeights(model: ReplicableModel): Promise<void> {
    this.model = model;
    this.layout = gradientLayout(model);
  }

  /**
   * Gradient of the minibatch loss: shard `s` of `S` takes items
   * `[floor(s n / S), floor((s + 1) n / S))`; the shards run one after
   * another and their packed gradients are summed in shard order in float32.
   * `workerSeconds` holds each shard's seconds.
   */
  async computeGradients<Item, Shared>(
    batch: DataParallelBatch<Item, Shared>,
  ): Promise<DataParallelGradients> {
    const model = this.model;
    assertGradientRequest(model, batch.items);
    const count = batch.items.length;
    const shardCount = this.options.shardCount;
    const shards: (ShardGradient | undefined)[] = [];
    const workerSeconds: number[] = [];
    for (let index = 0; index < shardCount; index++) {
      const started = performance.now();
      const items = batch.items.slice(...shardRange(index, shardCount, count));
      shards.push(
        items.length === 0
          ? undefined
          : computeShardGradient({
              model,
              loss: this.loss,
              items: items as unknown[],
              shared: batch.shared,
              shardIndex: index,
            }),
      );
      workerSeconds.push(items.length === 0 ? 0 : (performance.now() - started) / 1000);
    }
    return { ...sumShardGradients(this.layout, shards), workerSeconds };
  }

  /** Nothing to stop. */
  async dispose(): Promise<void> {}
}

/**
 * Loads the loss module and returns a {@link SequentialShardLearner}.
 * Throws an {@link InvalidArgumentError} naming the field for bad options, or
 * when the module has no default export function.
 */
export async function createSequentialShardLearner(
  options: SequentialShardLearnerOptionsInput,
): Promise<SequentialShardLearner> {
  const parsed = parseWithSchema(
    SequentialShardLearnerOptionsSchema,
    options,
    'sequential shard learner options',
  );
  const module = (await import(parsed.lossModule)) as { default?: unknown };
  if (typeof module.default !== 'function') {
    throw new InvalidArgumentError({
      argument: 'lossModule',
      value: parsed.lossModule,
      message: 'must be a module whose default export is a ShardLoss function',
    });
  }
  return new SequentialShardLearner(parsed, module.default as ShardLoss);
}
