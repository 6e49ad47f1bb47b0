import { Worker } from 'node:worker_threads';
import { InvalidArgumentError, parseWithSchema } from '@cohort/core';
import type * as tf from '@tensorflow/tfjs';
import type { WeightMap } from '../weights';
import {
  type DataParallelLearnerOptions,
  type DataParallelLearnerOptionsInput,
  DataParallelLearnerOptionsSchema,
} from './data-parallel-learner-options';
import {
  hasFrozenWeights,
  type LeaderMessage,
  packVariables,
  type ReplicableModel,
  type ReplicaSpecification,
  trainableParameterCount,
  type WorkerMessage,
} from './data-parallel-protocol';
import { DataParallelWorkerError } from './data-parallel-worker-error';
import {
  assertGradientRequest,
  type GradientLayout,
  gradientLayout,
  shardRange,
  sumShardGradients,
} from './shard-gradient';

/** One minibatch for {@link DataParallelLearner.computeGradients}. */
export interface DataParallelBatch<Item = unknown, Shared = unknown> {
  /** Per-sequence records (structured-cloneable); worker `w` gets the `w`-th contiguous share. */
  items: readonly Item[];
  /** Values every shard needs, such as the minibatch's token count. */
  shared: Shared;
}

/** Result of {@link DataParallelLearner.computeGradients}; the caller owns the tensors. */
export interface DataParallelGradients {
  /** Sum of the shards' losses, added in worker order. */
  loss: number;
  /** Summed gradients keyed by the model's Hugging Face parameter names (as `namedVariables()`). */
  gradients: tf.NamedTensorMap;
  /** Seconds each worker took, from the request to its reply, in worker order (0 for an idle worker). */
  workerSeconds: number[];
  /** Sum over shards, in worker order, of each metric the loss module returned. */
  metrics: Record<string, number>;
  /** The loss module's `extras` of each worker that had items, in worker order. */
  extras: unknown[];
}

/**
 * What a trainer needs of a sharded learner: {@link DataParallelLearner}
 * (shards on worker threads) and {@link SequentialShardLearner} (shards one
 * after another in this thread, to bound memory) both are one.
 */
export interface ShardGradientLearner {
  /** Shards a minibatch is split into. */
  readonly workerCount: number;
  /** Makes the next gradients use `model`'s current weights (call after each optimizer step). */
  setWeights(model: ReplicableModel): Promise<void>;
  /** Gradient of the minibatch loss, the shards' parts summed in shard order. */
  computeGradients<Item, Shared>(
    batch: DataParallelBatch<Item, Shared>,
  ): Promise<DataParallelGradients>;
  /**
   * Per-token log-probs of `sequences` at `temperature` under the current
   * weights, without gradients, in `tokenLogProbs`' convention (0 at the
   * first position); one row per sequence, as long as it. A learner on
   * another runtime gives it so that a trainer's recomputed behaviour
   * log-probs come from the engine that learns; without it the trainer
   * scores with the policy.
   */
  scoreLogProbs?(
    sequences: readonly (readonly number[])[],
    temperature: number,
  ): Promise<number[][]>;
  dispose(): Promise<void>;
}

interface Pending {
  resolve: (message: WorkerMessage) => void;
  reject: (error: Error) => void;
}

interface Slot {
  index: number;
  worker: Worker;
  ready: Promise<void>;
  pending: Map<number, Pending>;
  dead: boolean;
  parameterCount: number;
  /** Whether this replica holds the frozen weights (a LoRA model's base). */
  hasFrozen: boolean;
}

/**
 * A worker keeps the process alive only while a request to it is pending, so
 * a program that never disposes its learner still exits when its work is done.
 */
function holdWhileBusy(slot: { worker: Worker; pending: Map<number, unknown> }): void {
  if (slot.pending.size > 0) slot.worker.ref();
  else slot.worker.unref();
}

/** Run from TypeScript sources (tests, benchmarks), the worker starts through tsx with the source condition. */
const runsFromSource = import.meta.url.endsWith('.ts');

function startWorker(): Worker {
  if (!runsFromSource) return new Worker(new URL('./data-parallel-worker.js', import.meta.url));
  return new Worker(new URL('./run-typescript-worker.mjs', import.meta.url), {
    workerData: { entry: new URL('./data-parallel-worker.ts', import.meta.url).href },
    execArgv: ['--conditions=@cohort/source'],
  });
}

/**
 * Data-parallel gradients over `worker_threads`: every worker holds a replica
 * of a {@link GptModel} or a {@link LlamaModel} on its own single-threaded tfjs WASM backend, computes
 * the gradient of its contiguous share of a minibatch with a user's loss
 * module ({@link ShardLoss}), and the leader sums the shares' gradients in
 * worker order, so a result is bit-identical for a given worker count. The
 * weights and the optimizer stay on the leader: call {@link setWeights} after
 * each optimizer step (and once at the start), then apply the returned
 * gradients with the leader's optimizer.
 *
 * A worker that throws, or dies, fails the call with a
 * {@link DataParallelWorkerError}; no gradient is returned, so the leader's
 * weights and optimizer are untouched, and a dead worker is started again
 * (with the last weights) on the next call.
 *
 * With a LoRA {@link LlamaModel} only the adapters train: the frozen base
 * reaches each replica once (on its first {@link setWeights}), and from then
 * on only adapter weights and adapter gradients cross threads.
 *
 * @example
 * ```ts
 * const learner = await createDataParallelLearner({ config: model.config, lossModule: new URL('./my-loss.js', import.meta.url).href, workerCount: 2 });
 * await learner.setWeights(model);
 * const { gradients } = await learner.computeGradients({ items, shared: { tokenCount } });
 * optimizer.applyGradients(gradients);
 * tf.dispose(gradients);
 * await learner.setWeights(model);
 * await learner.dispose();
 * ```
 */
export class DataParallelLearner implements ShardGradientLearner {
  readonly options: DataParallelLearnerOptions;
  private readonly slots: Slot[] = [];
  private layout: GradientLayout[] = [];
  private lastWeights: Float32Array | undefined;
  /** A LoRA model's base weights, kept to load a replica started again. */
  private frozenWeights: WeightMap | undefined;
  private nextId = 0;
  private disposed = false;

  constructor(options: DataParallelLearnerOptions) {
    this.options = options;
    for (let index = 0; index < options.workerCount; index++) this.slots.push(this.spawn(index));
  }

  /** Number of worker threads. */
  get workerCount(): number {
    return this.slots.length;
  }

  /** Resolves when every worker has built its replica and loaded the loss module. */
  async ready(): Promise<void> {
    const results = await Promise.allSettled(this.slots.map((slot) => slot.ready));
    const failure = results.find((result) => result.status === 'rejected');
    if (failure !== undefined) throw (failure as PromiseRejectedResult).reason;
  }

  private spawn(index: number): Slot {
    const worker = startWorker();
    const slot: Slot = {
      index,
      worker,
      pending: new Map(),
      dead: false,
      parameterCount: 0,
      hasFrozen: false,
      ready: Promise.resolve(),
    };
    const failAll = (message: string, cause?: unknown) => {
      slot.dead = true;
      for (const pending of slot.pending.values()) {
        pending.reject(new DataParallelWorkerError({ workerIndex: index, message, cause }));
      }
      slot.pending.clear();
    };
    worker.on('message', (message: WorkerMessage) => {
      const id = message.type === 'ready' ? -1 : (message.id ?? -1);
      const pending = slot.pending.get(id);
      if (pending === undefined) return;
      slot.pending.delete(id);
      holdWhileBusy(slot);
      if (message.type === 'error') {
        pending.reject(
          new DataParallelWorkerError({
            workerIndex: index,
            message: `${message.name}: ${message.message}`,
            cause: message.stack,
          }),
        );
      } else {
        pending.resolve(message);
      }
    });
    worker.on('error', (error) => failAll(`uncaught ${error.name}: ${error.message}`, error));
    worker.on('exit', (code) => failAll(`exited with code ${code}`));
    slot.ready = new Promise<WorkerMessage>((resolve, reject) => {
      // The init request is -1; a failed init answers with id null, which maps to -1 too.
      slot.pending.set(-1, { resolve, reject });
      holdWhileBusy(slot);
      this.post(slot, {
        type: 'init',
        replica: this.replica(),
        lossModule: this.options.lossModule,
        workerIndex: index,
      });
    }).then((message) => {
      if (message.type === 'ready') slot.parameterCount = message.parameterCount;
    });
    // Never an unhandled rejection: callers observe failures through ready()/computeGradients().
    slot.ready.catch(() => undefined);
    return slot;
  }

  /** What each worker builds: the configured GPT-2 or Llama-family model. */
  private replica(): ReplicaSpecification {
    const { config, llama } = this.options;
    if (llama !== undefined) {
      return {
        family: 'llama',
        config: llama.config,
        ...(llama.lora === undefined ? {} : { lora: llama.lora }),
      };
    }
    return { family: 'gpt2', config: config as NonNullable<typeof config> };
  }

  private post(slot: Slot, message: LeaderMessage): void {
    slot.worker.postMessage(message);
  }

  private request(slot: Slot, message: LeaderMessage & { id: number }): Promise<WorkerMessage> {
    return new Promise((resolve, reject) => {
      if (slot.dead) {
        reject(new DataParallelWorkerError({ workerIndex: slot.index, message: 'is not running' }));
        return;
      }
      slot.pending.set(message.id, { resolve, reject });
      holdWhileBusy(slot);
      this.post(slot, message);
    });
  }

  /** Replaces dead workers with fresh ones holding the last weights. */
  private async revive(): Promise<void> {
    for (const [index, slot] of this.slots.entries()) {
      if (!slot.dead) continue;
      const fresh = this.spawn(index);
      this.slots[index] = fresh;
      await fresh.ready;
      await this.sendFrozen(fresh);
      if (this.lastWeights !== undefined) {
        await this.request(fresh, { type: 'weights', id: this.nextId++, packed: this.lastWeights });
      }
    }
  }

  /** Loads the frozen weights into a replica that does not hold them yet. */
  private async sendFrozen(slot: Slot): Promise<void> {
    if (this.frozenWeights === undefined || slot.hasFrozen) return;
    await this.request(slot, { type: 'frozen', id: this.nextId++, weights: this.frozenWeights });
    slot.hasFrozen = true;
  }

  /**
   * Copies the leader model's current weights to every replica (the
   * trainable ones; a LoRA model's frozen base only the first time). `model`
   * must have the configured shape.
   */
  async setWeights(model: ReplicableModel): Promise<void> {
    this.assertAlive();
    this.layout = gradientLayout(model);
    await this.revive();
    await Promise.all(this.slots.map((slot) => slot.ready));
    const expected = this.slots[0]?.parameterCount;
    if (trainableParameterCount(model) !== expected) {
      throw new InvalidArgumentError({
        argument: 'model.parameterCount()',
        value: trainableParameterCount(model),
        message: `must equal the replicas' ${expected} trainable parameters (the configured shape)`,
      });
    }
    if (hasFrozenWeights(model) && this.frozenWeights === undefined) {
      this.frozenWeights = model.getWeights();
    }
    const frozen = await Promise.allSettled(this.slots.map((slot) => this.sendFrozen(slot)));
    const frozenFailure = frozen.find((result) => result.status === 'rejected');
    if (frozenFailure !== undefined) throw (frozenFailure as PromiseRejectedResult).reason;
    const packed = packVariables(model);
    this.lastWeights = packed;
    const results = await Promise.allSettled(
      this.slots.map((slot) => this.request(slot, { type: 'weights', id: this.nextId++, packed })),
    );
    const failure = results.find((result) => result.status === 'rejected');
    if (failure !== undefined) throw (failure as PromiseRejectedResult).reason;
  }

  /**
   * Gradient of the minibatch loss: worker `w` gets items
   * `[floor(w n / W), floor((w + 1) n / W))` of the `n` items, and the
   * shards' packed gradients are summed in worker order in float32.
   */
  async computeGradients<Item, Shared>(
    batch: DataParallelBatch<Item, Shared>,
  ): Promise<DataParallelGradients> {
    this.assertAlive();
    assertGradientRequest(this.lastWeights, batch.items);
    await this.revive();
    const count = batch.items.length;
    const workers = this.slots.length;
    const started = performance.now();
    const workerSeconds = new Array<number>(workers).fill(0);
    const results = await Promise.allSettled(
      this.slots.map(async (slot, index) => {
        const items = batch.items.slice(...shardRange(index, workers, count));
        if (items.length === 0) return undefined;
        const reply = await this.request(slot, {
          type: 'gradients',
          id: this.nextId++,
          items: items as unknown[],
          shared: batch.shared,
        });
        workerSeconds[index] = (performance.now() - started) / 1000;
        return reply;
      }),
    );
    const failure = results.find((result) => result.status === 'rejected');
    if (failure !== undefined) throw (failure as PromiseRejectedResult).reason;
    const shards = results.map((result) => {
      const reply = (result as PromiseFulfilledResult<WorkerMessage | undefined>).value;
      return reply?.type === 'gradients' ? reply : undefined;
    });
    return { ...sumShardGradients(this.layout, shards), workerSeconds };
  }

  /** Stops every worker. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await Promise.all(
      this.slots.map((slot) => {
        slot.dead = true;
        slot.worker.removeAllListeners('exit');
        return slot.worker.terminate();
      }),
    );
  }

  private assertAlive(): void {
    if (this.disposed) {
      throw new InvalidArgumentError({
        argument: 'learner',
        value: 'disposed',
        message: 'this DataParallelLearner was disposed',
      });
    }
  }
}

/**
 * Starts a {@link DataParallelLearner} and waits until every worker is ready.
 *
 * @example
 * ```ts
 * const learner = await createDataParallelLearner({ config: model.config, lossModule: lossUrl, workerCount: 2 });
 * ```
 */
export async function createDataParallelLearner(
  options: DataParallelLearnerOptionsInput,
): Promise<DataParallelLearner> {
  const parsed = parseWithSchema(
    DataParallelLearnerOptionsSchema,
    options,
    'data-parallel learner options',
  );
  const learner = new DataParallelLearner(parsed);
  try {
    await learner.ready();
  } catch (error) {
    await learner.dispose();
    throw error;
  }
  return learner;
}
