import { InvalidArgumentError, parseWithSchema } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import { learningRateAt } from './learning-rate-schedule';
import {
  type OptimizerOptions,
  type OptimizerOptionsInput,
  OptimizerOptionsSchema,
} from './optimizer-options';

/** What one {@link Optimizer.applyGradients} call did. */
export interface OptimizerStepResult {
  /** Global L2 norm of the gradients before clipping, `sqrt(sum_i ||g_i||^2)`. */
  gradNorm: number;
  /** Learning rate used (or that would have been used, when skipped). */
  learningRate: number;
  /** True when the norm was not finite: nothing was updated, not even the moments or the step counter. */
  skipped: boolean;
  /** Number of updates applied so far. */
  step: number;
}

/** Plain-memory state of an {@link Optimizer}, for checkpoints. */
export interface OptimizerState {
  step: number;
  /** First and second moments per parameter key. */
  moments: Record<
    string,
    { shape: number[]; firstMoment: Float32Array; secondMoment: Float32Array }
  >;
}

/** Parameters to optimize: an array (keyed by `variable.name`) or a record with stable keys. */
export type OptimizerVariables = readonly tf.Variable[] | Readonly<Record<string, tf.Variable>>;

interface Entry {
  key: string;
  variable: tf.Variable;
  firstMoment: tf.Variable;
  secondMoment: tf.Variable;
  decays: boolean;
}

/**
 * Adam (Kingma and Ba 2015, Algorithm 1) and AdamW (Loshchilov and Hutter 2019,
 * Algorithm 2) with global gradient-norm clipping, a learning-rate schedule,
 * gradient accumulation and serializable state. Per parameter, with `g` the
 * clipped gradient, `t` the update number and `lr_t` from the schedule:
 *
 * `m = b1 m + (1 - b1) g`, `v = b2 v + (1 - b2) g^2`,
 * `p -= lr_t (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)`;
 * Adam adds `wd p` to `g` first; AdamW instead applies `p -= lr_t wd p`.
 * Clipping multiplies every gradient by `min(1, maxGradNorm / (norm + 1e-6))`.
 *
 * @example
 * ```ts
 * const optimizer = createOptimizer({ type: 'adamw', learningRate: 3e-4, weightDecay: 0.01, maxGradNorm: 1, variables: model.namedVariables() });
 * const { value, grads } = tf.variableGrads(() => loss(), model.trainableVariables());
 * const { gradNorm, skipped } = optimizer.applyGradients(grads);
 * tf.dispose([value, grads]);
 * ```
 */
export class Optimizer {
  readonly options: OptimizerOptions;
  private readonly entries: Entry[] = [];
  private readonly byName = new Map<string, Entry>();
  private stepCount = 0;
  private accumulated = new Map<string, tf.Tensor>();
  private accumulatedCount = 0;

  constructor(options: OptimizerOptions, variables: OptimizerVariables) {
    this.options = options;
    const pairs: [string, tf.Variable][] = Array.isArray(variables)
      ? (variables as readonly tf.Variable[]).map((variable) => [variable.name, variable])
      : Object.entries(variables as Record<string, tf.Variable>);
    if (pairs.length === 0) {
      throw new InvalidArgumentError({
        argument: 'variables',
        value: [],
        message: 'must hold at least one variable',
      });
    }
    for (const [key, variable] of pairs) {
      const entry: Entry = {
        key,
        variable,
        firstMoment: tf.variable(tf.zerosLike(variable), false),
        secondMoment: tf.variable(tf.zerosLike(variable), false),
        decays: options.decayVectors || variable.rank >= 2,
      };
      this.entries.push(entry);
      this.byName.set(key, entry);
      this.byName.set(variable.name, entry);
    }
  }

  /** Number of updates applied so far. */
  get updateCount(): number {
    return this.stepCount;
  }

  /** Learning rate that the next update will use. */
  currentLearningRate(): number {
    return learningRateAt(this.options.schedule, this.options.learningRate, this.stepCount + 1);
  }

  private resolve(grads: tf.NamedTensorMap): [Entry, tf.Tensor][] {
    const pairs: [Entry, tf.Tensor][] = [];
    for (const [name, gradient] of Object.entries(grads)) {
      const entry = this.byName.get(name);
      if (entry === undefined) {
        throw new InvalidArgumentError({
          argument: `grads["${name}"]`,
          value: gradient.shape,
          message: 'names no variable of this optimizer',
        });
      }
      if (
        gradient.shape.length !== entry.variable.rank ||
        gradient.shape.some((size, axis) => size !== entry.variable.shape[axis])
      ) {
        throw new InvalidArgumentError({
          argument: `grads["${name}"].shape`,
          value: gradient.shape,
          message: `must be [${entry.variable.shape.join(', ')}]`,
        });
      }
      pairs.push([entry, gradient]);
    }
    return pairs;
  }

  /**
   * Clips and applies gradients keyed by variable name (as `tf.variableGrads`
   * returns them) or by the keys given at creation. Variables without a
   * gradient are left alone. The caller still owns (and disposes) `grads`.
   */
  applyGradients(grads: tf.NamedTensorMap): OptimizerStepResult {
    const pairs = this.resolve(grads);
    const squaredNorm = tf.tidy(() =>
      pairs.length === 0
        ? tf.scalar(0)
        : tf.addN(pairs.map(([, gradient]) => gradient.square().sum())),
    );
    const gradNorm = Math.sqrt((squaredNorm.dataSync() as Float32Array)[0] as number);
    squaredNorm.dispose();
    if (!Number.isFinite(gradNorm)) {
      return {
        gradNorm,
        learningRate: this.currentLearningRate(),
        skipped: true,
        step: this.stepCount,
      };
    }
    const { beta1, beta2, epsilon, weightDecay, maxGradNorm, type } = this.options;
    const step = this.stepCount + 1;
    const learningRate = learningRateAt(this.options.schedule, this.options.learningRate, step);
    const clip = maxGradNorm === undefined ? 1 : Math.min(1, maxGradNorm / (gradNorm + 1e-6));
    const firstCorrection = 1 - beta1 ** step;
    const secondCorrection = 1 - beta2 ** step;
    tf.tidy(() => {
      for (const [entry, rawGradient] of pairs) {
        const { variable, firstMoment, secondMoment, decays } = entry;
        let gradient = clip === 1 ? rawGradient : rawGradient.mul(clip);
        if (type === 'adam' && decays && weightDecay > 0)
          gradient = gradient.add(variable.mul(weightDecay));
        const first = firstMoment.mul(beta1).add(gradient.mul(1 - beta1));
        const second = secondMoment.mul(beta2).add(gradient.square().mul(1 - beta2));
        firstMoment.assign(first);
        secondMoment.assign(second);
        const update = first
          .div(firstCorrection)
          .div(second.div(secondCorrection).sqrt().add(epsilon))
          .mul(learningRate);
        const decayed =
          type === 'adamw' && decays && weightDecay > 0
            ? variable.mul(1 - learningRate * weightDecay)
            : variable;
        variable.assign(decayed.sub(update));
      }
    });
    this.stepCount = step;
    return { gradNorm, learningRate, skipped: false, step };
  }

  /** Adds gradients to the accumulation buffers (the caller keeps ownership of `grads`). */
  accumulate(grads: tf.NamedTensorMap): void {
    const pairs = this.resolve(grads);
    for (const [entry, gradient] of pairs) {
      const previous = this.accumulated.get(entry.key);
      this.accumulated.set(
        entry.key,
        tf.keep(previous === undefined ? gradient.clone() : previous.add(gradient)),
      );
      previous?.dispose();
    }
    this.accumulatedCount++;
  }

  /** Number of `accumulate` calls since the last `step`. */
  get accumulatedSteps(): number {
    return this.accumulatedCount;
  }

  /** Applies the mean of the accumulated gradients (`sum / count`), then clears the buffers. */
  step(): OptimizerStepResult {
    if (this.accumulatedCount === 0) {
      throw new InvalidArgumentError({
        argument: 'accumulatedSteps',
        value: 0,
        message: 'call accumulate() before step()',
      });
    }
    const count = this.accumulatedCount;
    const averaged: tf.NamedTensorMap = {};
    for (const [key, sum] of this.accumulated) averaged[key] = sum.div(count);
    try {
      return this.applyGradients(averaged);
    } finally {
      tf.dispose(Object.values(averaged));
      this.clearAccumulated();
    }
  }

  /** Drops the accumulated gradients without applying them. */
  clearAccumulated(): void {
    tf.dispose([...this.accumulated.values()]);
    this.accumulated = new Map();
    this.accumulatedCount = 0;
  }

  /** Copies of the moments and the step counter, in plain memory. */
  getState(): OptimizerState {
    const moments: OptimizerState['moments'] = {};
    for (const entry of this.entries) {
      moments[entry.key] = {
        shape: [...entry.variable.shape],
        firstMoment: entry.firstMoment.dataSync() as Float32Array,
        secondMoment: entry.secondMoment.dataSync() as Float32Array,
      };
    }
    return { step: this.stepCount, moments };
  }

  /** Restores a state from {@link getState}; every key and shape must match. */
  setState(state: OptimizerState): void {
    if (!Number.isInteger(state.step) || state.step < 0) {
      throw new InvalidArgumentError({
        argument: 'state.step',
        value: state.step,
        message: 'must be a non-negative integer',
      });
    }
    for (const key of Object.keys(state.moments)) {
      if (!this.entries.some((entry) => entry.key === key)) {
        throw new InvalidArgumentError({
          argument: `state.moments["${key}"]`,
          value: key,
          message: 'names no variable of this optimizer',
        });
      }
    }
    for (const entry of this.entries) {
      const saved = state.moments[entry.key];
      const size = entry.variable.size;
      if (saved === undefined) {
        throw new InvalidArgumentError({
          argument: `state.moments["${entry.key}"]`,
          value: undefined,
          message: 'is missing',
        });
      }
      if (
        saved.shape.join(',') !== entry.variable.shape.join(',') ||
        saved.firstMoment.length !== size ||
        saved.secondMoment.length !== size
      ) {
        throw new InvalidArgumentError({
          argument: `state.moments["${entry.key}"].shape`,
          value: saved.shape,
          message: `must be [${entry.variable.shape.join(', ')}] with as many values`,
        });
      }
    }
    for (const entry of this.entries) {
      const saved = state.moments[entry.key] as OptimizerState['moments'][string];
      tf.tidy(() => {
        entry.firstMoment.assign(tf.tensor(saved.firstMoment, entry.variable.shape));
        entry.secondMoment.assign(tf.tensor(saved.secondMoment, entry.variable.shape));
      });
    }
    this.stepCount = state.step;
  }

  /** Frees the moments and accumulation buffers (not the optimized variables). */
  dispose(): void {
    this.clearAccumulated();
    for (const entry of this.entries) tf.dispose([entry.firstMoment, entry.secondMoment]);
  }
}

/**
 * Creates an {@link Optimizer} over `variables` from validated options.
 *
 * @example
 * ```ts
 * const optimizer = createOptimizer({ type: 'adam', learningRate: 1e-3, schedule: { type: 'cosine', warmupSteps: 10, totalSteps: 1000 }, variables: [w] });
 * ```
 */
export function createOptimizer(
  options: OptimizerOptionsInput & { variables: OptimizerVariables },
): Optimizer {
  const { variables, ...rest } = options;
  return new Optimizer(
    parseWithSchema(OptimizerOptionsSchema, rest, 'optimizer options'),
    variables,
  );
}
